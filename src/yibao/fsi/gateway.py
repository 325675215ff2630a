"""One message in, one answer out: the envelope, sign-in, msgid idempotency, and every
failure as `infcode: -1` with a Chinese err_msg naming the field (never an HTTP error).

A successful answer is stored under (fixmedins_code, msgid) in the same transaction as
what the message changed, so a repeated msgid gets the first answer and changes nothing
again. A failure changes nothing and is not stored: a repeat is simply tried again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from yibao.fsi.auth import REPLAY, Nonce
from yibao.fsi.context import records, service_error
from yibao.fsi.fields import Fields, FsiError, invalid, parse_day, wall_clock, wrong_type
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.transactions import TRANSACTIONS, Call, Ctx, Handler
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.ports.interface import InterfaceRecords
from yibao.service.ports.records import DuplicateError, KeyTakenError
from yibao.service.services import Services

log = logging.getLogger(__name__)
T = TypeVar("T")

BEIJING = timezone(timedelta(hours=8))  # China keeps no daylight saving time
MAX_BODY = 5_000_000
SIGN_IN_HOURS = 24.0  # the default: a sign-in (9001) serves a working day; 9002 ends it sooner
# Settling and cancelling a settlement go through the group committer when the server has
# one (PostgreSQL): their COMMITs, the costliest part of these messages, are shared.
GROUPED = frozenset({"2207", "2208", "2304", "2305"})
# ... or, with the setting fsi_group_at = N (Services.fsi_group_at), only when N others
# are under way in this process. A batch of one shares nothing and costs the hop to a
# committer thread, its savepoint, and a place behind the committer's few threads
# (his-sim's 2207 p99 150 → 257 ms on the idle machine, at 1.1 messages a commit); such
# a message then commits at once on its own, in the request's thread.


class UnderWay:
    """How many settling messages this process is answering (alone or in the committer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self) -> int:
        """One more; how many others were under way."""
        with self._lock:
            self.count += 1
            return self.count - 1

    def leave(self, *_: object) -> None:
        with self._lock:
            self.count -= 1


SETTLING = UnderWay()


@dataclass(frozen=True)
class Pending:
    """A message handed to the group committer: `future` is done once its batch has
    committed (or refused it); `finish()` then makes the answer envelope. The HTTP route
    awaits the future without holding a thread, as the card route awaits its bill, so that
    a server's few request threads stay free for other messages meanwhile."""

    future: Future[str]
    finish: Callable[[], str]


def _now() -> datetime:
    return datetime.now(UTC).astimezone(BEIJING)


def _ms(moment: datetime) -> str:
    """yyyyMMddHHmmssSSS, as the interface writes refmsg_time and respond_time."""
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def _input(head: Fields) -> None:
    """`input`: a JSON object, or a JSON text holding one (as some clients send it)."""
    raw = head.data.get("input")
    if isinstance(raw, str):
        try:
            raw = head.data["input"] = loads(raw)
        except ValueError:
            raise wrong_type("input", "JSON对象（或其JSON文本）") from None
    if not isinstance(raw, dict):
        if raw is None:
            raise FsiError("缺少必填字段 input（交易输入）")
        raise wrong_type("input", "JSON对象")


def _sign_no(head: Fields) -> str | None:
    """The message's sign_no; "null" (as some clients send before they keep one) and an
    absent one both mean: the institution's current sign-in."""
    raw = head.text("sign_no", required=False, max_len=40)
    return None if raw is None or raw.lower() == "null" else raw


def _hours(hours: float) -> str:
    return f"{hours:g}"


def _signed_in(row: Any | None, fixmedins: str, now: datetime, hours: float) -> str:
    """The sign-in a message runs under (`row`: the one it names, or the institution's
    current one); signed out (9002) or older than `hours` (the setting
    fsi_sign_in_hours), it is over."""
    if row is None or row.fixmedins_code != fixmedins:
        raise invalid("sign_no", "签到流水号无效，请先签到（9001）")
    if row.signed_out_at is not None:
        raise invalid("sign_no", f"签到 {row.sign_no} 已签退（9002），请重新签到（9001）")
    signed_at = row.signed_at if row.signed_at.tzinfo else row.signed_at.replace(tzinfo=UTC)
    if now - signed_at > timedelta(hours=hours):
        raise invalid("sign_no", f"签到已超过 {_hours(hours)} 小时失效，请重新签到（9001）")
    return str(row.sign_no)


def _person(head: Fields) -> tuple[str, str, int]:
    """The group committer's order key of a settlement message: the person it names
    (psn_no), so that one person's messages go one at a time, in arrival order. A message
    without one is refused by its handler; its key is then the empty person."""
    data = head.data["input"].get("data")
    psn_no = data.get("psn_no") if isinstance(data, dict) else None
    return ("fsi-person", psn_no if isinstance(psn_no, str) else "", 0)


def _inf_time(raw: str, path: str) -> datetime:
    moment = wall_clock(raw)
    if moment is not None:
        return moment
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(raw, fmt)  # noqa: DTZ007 - the HIS's wall-clock time
        except ValueError:
            continue
    day = parse_day(raw, path)
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001


def _opening(
    store: InterfaceRecords, call: Call, nonce: Nonce | None
) -> tuple[Any | None, Any | None]:
    """The msgid's first answer and the sign-in, in one statement that records the x-tif
    nonce as seen too (9001 signs in: it runs under no sign-in)."""
    opened = store.opening(
        call.fixmedins_code,
        call.msgid,
        None if call.infno == "9001" else call.sign_no,
        None if nonce is None else nonce.values(),
    )
    if not opened.fresh:
        assert nonce is not None
        nonce.replayed = True
        raise FsiError(REPLAY)
    return opened.message, opened.sign_in


class Gateway:
    def __init__(
        self,
        services: Services,
        admit: Callable[[str, str, str], None] | None = None,
        *,
        sign_in_hours: float = SIGN_IN_HOURS,
    ) -> None:
        self.services = services
        self.sign_in_hours = sign_in_hours
        # The service layer's unit of work: its stores and the interface's own records
        # (service/ports/interface.py) in one transaction.
        self.uow = services.settlements.uow
        # Checks the message's fixmedins_code, infno and msgid against the caller's
        # credential (fsi/auth.py); raises FsiError to refuse.
        self.admit = admit

    @staticmethod
    def refusal(message: str) -> str:
        """The answer to a message refused before it was read."""
        return Gateway._answer(_now(), "000000", None, message)

    def call(self, body: bytes) -> str:
        """Answer one message; returns the response envelope as JSON text (a settlement
        handed to the group committer: once its batch committed)."""
        answer = self.begin(body)
        return answer if isinstance(answer, str) else answer.finish()

    def begin(self, body: bytes, nonce: Nonce | None = None) -> str | Pending:
        """Answer one message, or hand it to the group committer (2207, 2208, 2304, 2305
        on a server that has one): then await `future` and `finish()` it. `nonce`: the
        request's x-tif nonce, recorded as seen by the message's transaction (`kept` once
        it committed) or found seen before (`replayed`, the message refused)."""
        received = _now()
        where = ["000000"]  # the admvs the answer names, once read

        def read() -> str | Pending:
            if len(body) > MAX_BODY:
                raise FsiError(f"报文过大（超过 {MAX_BODY} 字节）")
            try:
                envelope = loads(body)
            except (ValueError, UnicodeDecodeError):
                raise FsiError("报文不是合法的JSON") from None
            except RecursionError:  # nested deeper than any message is
                raise FsiError("报文嵌套层次过深") from None
            head = Fields(envelope, "")
            where[0] = str(envelope.get("mdtrtarea_admvs") or where[0])[:6]
            return self._call(head, received, nonce)

        answer = self._enveloped(received, where, read)
        if isinstance(answer, Pending):
            grouped = answer.finish
            return Pending(answer.future, lambda: self._enveloped(received, where, grouped))
        return answer

    def _enveloped(self, received: datetime, where: list[str], answer: Callable[[], T]) -> T | str:
        """`answer()`, or its failure as an envelope (infcode -1, never an HTTP error)."""
        try:
            return answer()
        except FsiError as exc:
            return self._answer(received, where[0], None, exc.message)
        except Exception as exc:  # never an HTTP 500: the HIS needs an envelope
            log.exception("national interface: unexpected error")
            return self._answer(
                received, where[0], None, f"系统内部错误，请稍后重试（{type(exc).__name__}）"
            )

    def _call(self, head: Fields, received: datetime, nonce: Nonce | None) -> str | Pending:
        infno = head.req("infno", max_len=4, pattern=r"\d{4}")
        found = TRANSACTIONS.get(infno)
        if found is None:
            supported = "、".join(sorted(TRANSACTIONS))
            raise invalid("infno", f"不支持的交易 {infno}（支持：{supported}）")
        _, handler = found
        msgid = head.req("msgid", max_len=64)
        admvs = head.req("mdtrtarea_admvs", max_len=6, pattern=r"\d{6}")
        head.text("insuplc_admdvs", required=False, max_len=6, pattern=r"\d{6}")
        head.one_of("opter_type", {"1": "经办人", "2": "自助终端", "3": "移动终端"})
        opter = head.req("opter", max_len=64)
        head.req("opter_name", max_len=100)
        inf_time = _inf_time(head.req("inf_time", max_len=32), "inf_time")
        fixmedins = head.req("fixmedins_code", max_len=32)
        if self.admit is not None:
            self.admit(fixmedins, infno, msgid)
        head.text("fixmedins_name", required=False, max_len=200)
        sign_no = None if infno == "9001" else _sign_no(head)
        _input(head)
        call = Call(
            infno,
            msgid,
            fixmedins,
            opter,
            inf_time,
            admvs,
            Fields(head.data["input"], "input"),
            sign_no,
        )
        request_hash = hashlib.sha256(
            dumps({"infno": infno, "input": head.data["input"]}, sort_keys=True).encode()
        ).hexdigest()
        return self._transact(call, handler, request_hash, received, _person(head), nonce)

    def _transact(
        self,
        call: Call,
        handler: Handler,
        request_hash: str,
        received: datetime,
        person: tuple[str, str, int],
        nonce: Nonce | None,
    ) -> str | Pending:
        """Answer the message in one unit of work with its stored answer: a transaction of
        its own, or a savepoint of the group committer's shared one."""
        infno, msgid, fixmedins = call.infno, call.msgid, call.fixmedins_code

        def work(uow: UnitOfWork) -> str:
            """What the message changes and its stored answer, in `uow`, not committed."""
            store = records(uow)
            stored, signed_in = _opening(store, call, nonce)
            first = self._first(stored, msgid, request_hash)
            if first is not None:
                return first
            signed = (
                _signed_in(signed_in, fixmedins, received, self.sign_in_hours)
                if infno != "9001"
                else None
            )
            try:
                output = handler(Ctx(replace(call, sign_no=signed), uow, store, self.services))
            except ServiceError as exc:
                raise service_error(exc) from None
            text = self._answer(received, call.mdtrtarea_admvs, output, None)
            store.add_message(fixmedins, msgid, infno, request_hash, text)
            return text

        def alone() -> str:
            with self.uow() as uow:  # one unit of work: the change and its stored answer
                text = work(uow)
                uow.commit()
                return text

        grouped = self.services.group_commit
        if grouped is None or infno not in GROUPED:
            return self._settled(call, request_hash, alone, nonce)
        if SETTLING.enter() < self.services.fsi_group_at:  # nothing to share a commit with
            try:
                return self._settled(call, request_hash, alone, nonce)
            finally:
                SETTLING.leave()
        # Answered once the transaction it shared with other hospitals' settlements has
        # committed (service/group_commit.py); a refusal changes nothing.
        job = grouped.submit_job(person, work, alone, refusals=(FsiError,))
        job.add_done_callback(SETTLING.leave)
        return Pending(job, lambda: self._settled(call, request_hash, job.result, nonce))

    def _settled(
        self, call: Call, request_hash: str, answer: Callable[[], str], nonce: Nonce | None
    ) -> str:
        """`answer()`; where a copy of the message won a race, its stored first answer."""
        fixmedins, msgid = call.fixmedins_code, call.msgid
        try:
            text = answer()
            if nonce is not None:  # its transaction, which recorded the nonce, committed
                nonce.kept = True
            return text
        except FsiError:
            # The same message may have been answered meanwhile by another process (its
            # visit, locked, was found settled): the first answer, not the refusal.
            if call.infno in GROUPED and (first := self._stored(fixmedins, msgid, request_hash)):
                return first
            raise
        except (DuplicateError, KeyTakenError):
            # A concurrent message with the same msgid (or the same feedetl_sn) won.
            if first := self._stored(fixmedins, msgid, request_hash):
                return first
            raise FsiError("并发冲突：同一数据正在被另一笔交易修改，请重试") from None

    def _stored(self, fixmedins: str, msgid: str, request_hash: str) -> str | None:
        with self.uow() as uow:
            return self._first_answer(records(uow), fixmedins, msgid, request_hash)

    @staticmethod
    def _first_answer(
        store: InterfaceRecords, fixmedins: str, msgid: str, request_hash: str
    ) -> str | None:
        return Gateway._first(store.message(fixmedins, msgid), msgid, request_hash)

    @staticmethod
    def _first(stored: Any | None, msgid: str, request_hash: str) -> str | None:
        """The first answer of a message stored before, if the msgid's request is this."""
        if stored is None:
            return None
        if stored.request_hash != request_hash:
            raise invalid(
                "msgid",
                f"报文ID {msgid} 已用于另一笔交易（{stored.infno}），新交易请使用新的报文ID",
            )
        return str(stored.response)

    @staticmethod
    def _answer(
        received: datetime, admvs: str, output: dict[str, Any] | None, err: str | None
    ) -> str:
        answered = _now()
        refmsgid = f"{admvs}{answered:%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"
        return dumps(
            {
                "infcode": 0 if err is None else -1,
                "inf_refmsgid": refmsgid,
                "refmsg_time": _ms(received),
                "respond_time": _ms(answered),
                "err_msg": err,
                "warn_msg": None,
                "cainfo": None,
                "signtype": None,
                "output": output,
            }
        )
