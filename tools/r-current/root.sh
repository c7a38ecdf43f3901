#!/usr/bin/env bash
# The R that R users run now, for `make test-r-current`: a Debian unstable root (the
# mirror is a snapshot: R 4.6, reticulate 1.47, testthat 3.3, Python 3.13) made with
# debootstrap, outside git and outside the R package.
#
#   tools/r-current/root.sh build ROOT     make the root (about 2 minutes; needs root)
#   tools/r-current/root.sh run ROOT CMD   run CMD in it, /proc mounted while it runs
#   tools/r-current/root.sh remove ROOT    delete it, never with a mount inside
#
# The packages below are the root's contents: the Makefile rebuilds the root when this
# file changes. uv comes from PyPI (pinned: reticulate drives its command line).
set -euo pipefail

APT_PACKAGES=(
  r-base-core r-cran-reticulate r-cran-testthat r-cran-cli r-cran-rlang r-cran-withr
  r-cran-jsonlite r-cran-ggplot2 r-cran-yaml python3.13 python3.13-venv libpython3.13 ca-certificates
)
UV_VERSION=0.13.9
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

command=$1
root=$(realpath -m "$2")
shift 2

# debootstrap, chroot and mount need root: as tools/setup-system.sh, sudo otherwise
if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env=DEBIAN_MIRROR "$0" "$command" "$root" "$@"; fi

unmount() {
  if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || umount -l "$root/proc"; fi
}

case "$command" in
build)
  if ! command -v debootstrap >/dev/null; then
    echo "debootstrap is missing: tools/setup-system.sh installs it" >&2
    exit 1
  fi
  "$0" remove "$root"
  mkdir -p "$(dirname "$root")"
  partial="$root.partial"
  "$0" remove "$partial"
  debootstrap --variant=minbase sid "$partial" "$MIRROR" >"$(dirname "$root")/debootstrap.log" 2>&1 \
    || { tail -20 "$(dirname "$root")/debootstrap.log"; exit 1; }
  trap 'mountpoint -q "$partial/proc" && umount "$partial/proc"' EXIT
  mount -t proc proc "$partial/proc"
  chroot "$partial" env DEBIAN_FRONTEND=noninteractive bash -c "
    apt-get -o Acquire::Check-Valid-Until=false update -qq &&
    apt-get install -y -qq --no-install-recommends ${APT_PACKAGES[*]} >/dev/null"
  # pip and uv inside reach PyPI with the host's certificates (apt rewrote the root's)
  cp /etc/ssl/certs/ca-certificates.crt "$partial/etc/ssl/certs/ca-certificates.crt"
  # python3 is TensorFlow's 3.13 (sid's default 3.14 has no TensorFlow 2.21 wheels),
  # for the tests that make virtualenvs with `python3`
  chroot "$partial" env HOME=/root bash -c "
    ln -sf /usr/bin/python3.13 /usr/local/bin/python3 &&
    python3.13 -m venv /opt/uv &&
    /opt/uv/bin/pip install -q --disable-pip-version-check uv==$UV_VERSION &&
    ln -sf /opt/uv/bin/uv /usr/local/bin/uv"
  umount "$partial/proc"
  trap - EXIT
  mv "$partial" "$root"
  ;;
run)
  trap unmount EXIT
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  # What a user's shell has: no RETICULATE_PYTHON, no virtualenv; the host's
  # certificates; TensorFlow's start-up chatter off.
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt TF_CPP_MIN_LOG_LEVEL=3 \
    PYTHONDONTWRITEBYTECODE=1 "$@"
  ;;
remove)
  [ -e "$root" ] || exit 0
  unmount
  if grep -q " $root/" /proc/mounts; then
    echo "not removing $root: something is mounted inside it" >&2
    exit 1
  fi
  rm -rf --one-file-system "$root"
  ;;
*)
  echo "usage: $0 build|run|remove ROOT [CMD...]" >&2
  exit 2
  ;;
esac
