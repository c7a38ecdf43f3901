#!/usr/bin/env bash
# Installs the Debian packages lrschedule needs (R and the R packages Debian ships).
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

pkgs=(
  r-base-core r-base-dev r-cran-reticulate r-cran-testthat r-cran-knitr r-cran-rmarkdown
  r-cran-roxygen2 r-cran-cli r-cran-rlang r-cran-withr r-cran-jsonlite r-cran-ggplot2 r-cran-yaml
  r-cran-pkgdown chromium
  pandoc debootstrap
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
