"""Files the portal and its browser tests take from the npm registry at install time, never from a CDN at run
time: the Vazirmatn font (served by the portal) and axe-core (injected by the accessibility tests). Each
package is pinned by version and integrity in `assets.json`; `python -m hub_web.assets` (run by ./hub) fetches
with `npm pack`, checks the integrity and unpacks only the files listed."""

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent  # services/web
MANIFEST = Path(__file__).with_name("assets.json")


def packages() -> list[dict]:
    return json.loads(MANIFEST.read_text())["packages"]


def missing_assets(names: set[str] | None = None) -> list[str]:
    """The listed files not yet in place (of the packages `names`, default all)."""
    return [target for package in packages() if names is None or package["name"] in names
            for target in package["files"].values() if not (SERVICE / target).is_file()]


def fetch(package: dict, scratch: Path) -> None:
    if shutil.which("npm") is None:
        raise SystemExit("hub_web.assets: npm is needed once, to fetch the font and axe-core (apt-get install -y npm)")
    spec = f"{package['name']}@{package['version']}"
    packed = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(scratch)], check=True,
                            capture_output=True, text=True, cwd=scratch)
    tarball = scratch / json.loads(packed.stdout)[0]["filename"]
    if _integrity(tarball) != package["integrity"]:
        raise SystemExit(f"hub_web.assets: {spec} from the registry does not match the integrity pinned in {MANIFEST.name}")
    with tarfile.open(tarball) as archive:
        for member, target in package["files"].items():
            destination = SERVICE / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.extractfile(member).read())


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def main() -> None:
    wanted = [package for package in packages() if missing_assets({package["name"]})]
    with tempfile.TemporaryDirectory() as scratch:
        for package in wanted:
            print(f"hub: fetching {package['name']}@{package['version']} from the npm registry…", file=sys.stderr)
            fetch(package, Path(scratch))


if __name__ == "__main__":
    main()
