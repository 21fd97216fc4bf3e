from hub_shared.service import main

from hub_intake.app import create_runtime

main("intake", create_runtime)
