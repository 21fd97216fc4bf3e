import sys

from hub_shared.service import main

from hub_reporting.app import create_runtime

if sys.argv[1:] == ["rebuild"]:
    from hub_reporting.rebuild import rebuild
    from hub_shared.logs import setup_logging
    from hub_shared.settings import HubSettings

    settings = HubSettings(service_name="reporting")
    setup_logging(settings.service_name, settings.log_level)
    rebuild(create_runtime(settings))
else:
    main("reporting", create_runtime)
