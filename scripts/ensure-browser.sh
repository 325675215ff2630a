# Sourced by ./test: the browser tests drive Debian's chromium (never a downloaded
# browser) and need Chinese glyphs; install both with apt-get when they are missing.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wqy"; then
    echo "installing chromium and fonts-wqy-microhei for the browser tests" >&2
    sudo_=""
    if [ "$(id -u)" != 0 ]; then sudo_="sudo"; fi
    $sudo_ apt-get install -y -q chromium fonts-wqy-microhei >&2 || {
        $sudo_ apt-get update -q >&2 && $sudo_ apt-get install -y -q chromium fonts-wqy-microhei >&2
    }
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "error: /usr/bin/chromium is needed for the browser tests and could not be installed" >&2
    exit 1
fi
export YIBAO_TEST_CHROMIUM=/usr/bin/chromium
