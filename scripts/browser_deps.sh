#!/usr/bin/env bash
# Browser tests drive Debian's chromium (no browser downloads at run time). Install it, its driver and a CJK
# font from Debian's packages when missing and we may (root with apt-get); otherwise the browser tests skip
# with a message saying what to install.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
fc-list 2>/dev/null | grep -qi -e wqy -e noto.*cjk || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} from Debian's packages (browser tests)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null 2>&1
  } || echo "warning: could not install ${need[*]}; browser tests may skip" >&2
else
  echo "note: browser tests need ${need[*]} (apt-get install ${need[*]})" >&2
fi
