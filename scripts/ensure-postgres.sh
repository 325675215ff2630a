# Sourced by ./test: make sure a PostgreSQL server answers for the database tests, and
# export YIBAO_TEST_POSTGRES_URL. Uses YIBAO_TEST_POSTGRES_URL when it is already set.
# Otherwise: 127.0.0.1:5432; if it is down, start the Debian cluster; if there is none,
# install Debian's postgresql package and start it. It never skips: no server, no tests.
set -euo pipefail
if [ -z "${YIBAO_TEST_POSTGRES_URL:-}" ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
            echo "installing PostgreSQL (Debian package)" >&2
            apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        fi
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
        if ! pg_isready -q -h 127.0.0.1 -p 5432; then
            echo "error: PostgreSQL does not answer on 127.0.0.1:5432; the database tests need it" >&2
            exit 1
        fi
    fi
    # Trust authentication on these machines: connect as postgres.
    export YIBAO_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
fi
