"""Write src/icp_agent/assets/countries.json: the country index `normalize.country_name` reads (every spelling key
-> alpha-2 code, and each code's English name), built from babel's CLDR data and pycountry by
`normalize.build_country_index`. Run it after upgrading babel or pycountry, or after editing the country aliases;
tests/test_countries.py fails while the asset differs from what the installed data gives.

    PYTHONPATH=src python tools/gen_countries.py
"""

from __future__ import annotations

import json

from icp_agent.ingest.normalize import COUNTRY_ASSET, build_country_index


def main() -> None:
    """Build the index and write it, sorted so that a regenerated asset differs only where the data did."""
    index, english = build_country_index()
    data = {"english": dict(sorted(english.items())), "index": dict(sorted(index.items()))}
    COUNTRY_ASSET.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{COUNTRY_ASSET}: {len(index)} spellings of {len(english)} countries")


if __name__ == "__main__":
    main()
