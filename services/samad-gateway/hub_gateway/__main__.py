from hub_shared.service import main

from hub_gateway.app import create_runtime

main("samad-gateway", create_runtime)
