# Shared set-up steps for ./serve and ./test (sourced, not run).

PYTHON=${PYTHON:-python3}

_stamp() { sha256sum pyproject.toml package.json 2>/dev/null | sha256sum | cut -c1-16; }

setup_runtime() {
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv
        .venv/bin/pip install --quiet --upgrade pip
    fi
    if [ ! -f .venv/.doudesk-installed ] || ! grep -qx "runtime-$(_stamp)" .venv/.doudesk-installed; then
        .venv/bin/pip install --quiet --disable-pip-version-check -e .
        echo "runtime-$(_stamp)" >> .venv/.doudesk-installed
    fi
    if [ ! -d node_modules/htmx.org ] || [ ! -d node_modules/htmx-ext-sse ] || [ ! -d node_modules/echarts ] || [ package.json -nt node_modules ]; then
        npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
        touch node_modules
    fi
}

setup_test() {
    if ! grep -qx "test-$(_stamp)" .venv/.doudesk-installed 2>/dev/null; then
        .venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
        echo "test-$(_stamp)" >> .venv/.doudesk-installed
    fi
    if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
        else
            echo "browser tests need Debian's chromium and fonts-noto-cjk (run as root to install)" >&2
        fi
    fi
}
