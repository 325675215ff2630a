"""`yibao his-sim`: the hospital simulator (yibao.fsi.his_sim) given what it reads from the
server's database and the credentials its hospitals sign with."""

from __future__ import annotations

from yibao.adapters.db.sim_world import Item, read_world
from yibao.bootstrap import engine_from, policy_source, services
from yibao.domain.access import Role
from yibao.fsi.auth import Credential, issue_credential
from yibao.fsi.his_sim import main
from yibao.service.access import OPERATOR
from yibao.settings import Settings


def _settings(database_url: str | None) -> Settings:
    return Settings() if database_url is None else Settings(database_url=database_url)


def _world(
    database_url: str | None, year: int, limit: int
) -> tuple[list[str], list[tuple[str, str, str, str]], dict[str, list[Item]]]:
    return read_world(_settings(database_url).database_url, year, limit)


def credentials(database_url: str | None, institutions: list[str]) -> dict[str, Credential]:
    """For his-sim, which has the server's database and secret key: an institution
    account `his-sim-<code>` per institution (made if missing) and a fresh x-tif
    credential of each."""
    settings = _settings(database_url)
    engine = engine_from(settings)
    built = services(engine, policy_source(settings.policy_path), settings)
    made: dict[str, Credential] = {}
    try:
        for code in institutions:
            account_id = f"his-sim-{code.lower()}"[:64]
            with built.access.uow() as uow:
                exists = uow.accounts.get(account_id) is not None
            if not exists:
                built.access.create_account(
                    OPERATOR, account_id, Role.INSTITUTION, f"his-sim {code}", institution_id=code
                )
            issued = issue_credential(built.access, built.secret, OPERATOR, account_id)
            made[code] = Credential(issued["paasid"], issued["paas_token"])
    finally:
        engine.dispose()
    return made


def run(argv: list[str] | None = None) -> int:
    return main(argv, _world, credentials)


if __name__ == "__main__":
    raise SystemExit(run())
