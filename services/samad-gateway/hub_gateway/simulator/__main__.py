"""`python -m hub_gateway.simulator`: serve one remote simulator. Settings from the environment:
HUB_SIMULATOR_REMOTE (samad or inspection_org), HUB_SIMULATOR_GATEWAY_URL, HUB_SIMULATOR_TOKEN
(the secret shared with the gateway), HUB_HTTP_HOST, HUB_HTTP_PORT."""

import os

import uvicorn

from hub_gateway.settings import DEVELOPMENT_TOKEN
from hub_gateway.simulator.app import create_app

remote = os.environ.get("HUB_SIMULATOR_REMOTE", "samad")
if remote not in ("samad", "inspection_org"):
    raise SystemExit(f"HUB_SIMULATOR_REMOTE must be samad or inspection_org, not {remote!r}")
app = create_app(remote, os.environ.get("HUB_SIMULATOR_GATEWAY_URL", "http://127.0.0.1:8005"),
                 os.environ.get("HUB_SIMULATOR_TOKEN", DEVELOPMENT_TOKEN))
uvicorn.run(app, host=os.environ.get("HUB_HTTP_HOST", "127.0.0.1"), port=int(os.environ.get("HUB_HTTP_PORT", "8011")),
            log_level="warning")
