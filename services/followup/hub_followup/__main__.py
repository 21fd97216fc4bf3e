from hub_shared.service import main

from hub_followup.app import create_runtime

main("followup", create_runtime)
