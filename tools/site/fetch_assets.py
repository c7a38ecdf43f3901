"""Fetches the scripts, style sheets and fonts the site's pages load into
pkgdown/assets/vendor/, from which pkgdown copies them into the site (`make site`).

pkgdown 2.0.7's Bootstrap 5 template loads them from CDNs (cdnjs, jsdelivr), which a
site read offline cannot reach. The same files, at the same versions, are in the npm
registry's packages, which this machine reaches. Each package's tarball is checked
against the registry's sha512, and each file taken from it against the Subresource
Integrity hash that pkgdown's template gives for the CDN's copy: the files served are
byte for byte those the template asks for.

Run with any Python 3 (standard library only): python3 tools/site/fetch_assets.py DEST
"""

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"

# (package, version, tarball sha512 from the registry, {file in the package: (where in
# vendor/, the template's SRI hash or None)}). The web fonts are what all.min.css names;
# the style sheet's own hash vouches for which fonts it asks for, not for their bytes.
PACKAGES = [
    ("headroom.js", "0.11.0",
     "yI4ciZRD1WH22wa5uJDg2kMtRvhJwUJWo2l41Eby0BoAD+lzXL98lf5jDFxP4Q5W3HmlrpfItSfmqc3jCtasbw==",
     {"dist/headroom.min.js": ("headroom.min.js",
                               "sha256-AsUX4SJE1+yuDu5+mAVzJbuYNPHj/WroHuZ8Ir/CkE0="),
      "dist/jQuery.headroom.min.js": ("jQuery.headroom.min.js",
                                      "sha256-ZX/yNShbjqsohH1k95liqY9Gd8uOiE1S4vZc+9KQ1K4=")}),
    ("clipboard", "2.0.6",
     "g5zbiixBRk/wyKakSwCKd7vQXDjFnAMGHoEyBogG/bw9kTD9GvdAvaoRR1ALcEzt3pVKxZR0pViekPMIS0QyGg==",
     {"dist/clipboard.min.js": ("clipboard.min.js",
                                "sha256-inc5kl9MA1hkeYUt+EC3BhlIgyp/2jDIyBLS6k3UxPI=")}),
    ("fuse.js", "6.4.6",
     "/gYxR/0VpXmWSfZOIPS3rWwU8SHgsRTwWuXhyb2O6s7aRuVtHtxCkR33bNYu3wyLyNx/Wpv0vU7FZy8Vj53VNw==",
     {"dist/fuse.js": ("fuse.js", "sha512-zv6Ywkjyktsohkbp9bb45V6tEMoWhzFzXis+LrMehmJZZSys19Y"
                                  "xf1dopHx7WzIKxr5tK2dVcYmaCk2uqdjF4A==")}),
    ("autocomplete.js", "0.38.0",
     "xZlqbg0LN9D1cZd4TkPJmir/Bq0+xXnp35X6i87yU2dD2wYv9E7pVU1+QKu0PbBVV2dShppwlKGMsfCYQD9OtA==",
     {"dist/autocomplete.jquery.min.js": (
         "autocomplete.jquery.min.js",
         "sha512-GU9ayf+66Xx2TmpxqJpliWbT5PiGYxpaG8rfnBEk1LL8l1KGkRShhngwdXK1UgqhAzWpZHSiYPc09/"
         "NwDQIGyg==")}),
    ("mark.js", "8.11.1",
     "1I+1qpDt4idfgLQG+BNWmrqku+7/2bi5nLf4YwF8y8zXvmfiTBY3PV3ZibfrjBueCByROpuBjLLFCajqkgYoLQ==",
     {"dist/mark.min.js": ("mark.min.js",
                           "sha512-5CYOlHXGh6QpOFA/TeTylKLWfB3ftPsde7AnmhuitiTX4K5SqCLBeKro6sPS8"
                           "ilsz1Q4NRx3v8Ko2IBiszzdww==")}),
    ("@fortawesome/fontawesome-free", "5.12.1",
     "ZtjIIFplxncqxvogq148C3hBLQE+W3iJ8E4UvJ09zIJUgzwLcROsWwFDErVSXY2Plzao5J9KUYNHKHMEUYDMKw==",
     {"css/all.min.css": ("fontawesome/css/all.min.css",
                          "sha256-mmgLkCYLUQbXn0B1SRqzHar6dCnv9oZFPEC1g1cwlkk="),
      "css/v4-shims.min.css": ("fontawesome/css/v4-shims.min.css",
                               "sha256-wZjR52fzng1pJHwx4aV2AO3yyTOXrcDW7jBpJtTwVxw="),
      **{f"webfonts/fa-{face}-{weight}.{ext}": (f"fontawesome/webfonts/fa-{face}-{weight}.{ext}",
                                                None)
         for face, weight in (("brands", 400), ("regular", 400), ("solid", 900))
         for ext in ("eot", "svg", "ttf", "woff", "woff2")}}),
]


def sri(data, algorithm):
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def tarball(package, version, integrity):
    name = package.rsplit("/", 1)[-1]
    url = f"{REGISTRY}/{package}/-/{name}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if sri(data, "sha512") != f"sha512-{integrity}":
        raise SystemExit(f"{url}: the tarball's sha512 is not the registry's pinned one")
    return data


def main(dest):
    dest = Path(dest)
    for package, version, integrity, files in PACKAGES:
        data = tarball(package, version, integrity)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member, (target, expected) in files.items():
                content = archive.extractfile(f"package/{member}").read()
                if expected and sri(content, expected.split("-", 1)[0]) != expected:
                    raise SystemExit(f"{package}@{version} {member}: not the file pkgdown's "
                                     f"template names ({expected})")
                path = dest / target
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        print(f"{package}@{version}: {len(files)} files")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "pkgdown/assets/vendor")
