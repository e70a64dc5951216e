"""Print the backend's OpenAPI document (for `npm run gen:api`), without starting a server."""

import json
import sys

from hounsfield.app import create_app

json.dump(create_app().openapi(), sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
sys.stdout.write("\n")
