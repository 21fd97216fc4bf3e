from hub_shared.service import main

from hub_reporting.app import create_runtime

main("reporting", create_runtime)
