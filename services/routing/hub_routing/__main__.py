from hub_shared.service import main

from hub_routing.app import create_runtime

main("routing", create_runtime)
