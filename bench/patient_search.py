"""Patient search at scale: load N synthetic patients, report p50/p95 per kind of query.

    python bench/patient_search.py                        # 1,000,000 patients, SQLite
    python bench/patient_search.py --n 200000 --db mariadb
    python bench/patient_search.py --db sqlite --db mariadb --queries 300
    HF_BENCH_MARIADB_URL=mysql+pymysql://root@127.0.0.1:3306/hf_mine?charset=utf8mb4 ...

Each database is migrated with the real migrations, then filled by bulk Core inserts with
the same terms, ciphertexts and hashes the service writes (search.terms, set_secrets). The
timed call is `patients.service.list_patients` (the search, the count, loading and
unmasking the page, and the read's audit event), one transaction per query, as an API
request runs it minus HTTP. Queries are drawn from the loaded data, so every one matches.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MARIADB_URL = os.environ.get(
    "HF_BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/hf_bench_patients?charset=utf8mb4"
)
CHUNK = 5000

# Common surnames, weighted as they are in China, and a few polyphonic ones (单, 曾, 解, 区).
SURNAMES = (
    "王" * 30 + "李" * 30 + "张" * 28 + "刘" * 22 + "陈" * 20 + "杨" * 14 + "黄" * 10 + "赵" * 9
    + "吴" * 8 + "周" * 8 + "徐徐徐孙孙孙马马马朱朱胡胡郭郭何何林林罗高郑梁谢宋唐许韩冯邓曹彭"
    + "曾曾单解区仇朴查覃乐"
)  # fmt: skip
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌宇浩然欣怡子涵梓"
    "轩博思雨晨一诺佳琪俊杰婷玲海燕凤鹏飞亮慧颖琳晓东春梅长乐重行和朝"
)


def _check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


@functools.lru_cache(maxsize=4096)
def _reading(char: str) -> str:
    from pypinyin import lazy_pinyin

    return str(lazy_pinyin(char)[0])


def _person(i: int, seed: int) -> dict[str, Any]:
    """Patient i, the same every time (its own random stream)."""
    rng = random.Random(seed * 10_000_019 + i)
    family = rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    birth = date(1930, 1, 1) + timedelta(days=rng.randrange(33000))
    first17 = f"110105{birth:%Y%m%d}{i % 1000:03d}"
    latin_given = "".join(_reading(c) for c in given).capitalize()
    return {
        "mrn": f"B{i:08d}",
        "name_ideographic": f"{family}^{given}",
        "name_alphabetic": f"{_reading(family).capitalize()}^{latin_given}",
        "sex": rng.choice("MF"),
        "birth_date": birth,
        "national_id": first17 + _check_char(first17),
        "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
    }


Rows = list[dict[str, Any]]


def _rows(start: int, count: int, seed: int) -> Iterator[tuple[Rows, Rows]]:
    """(patient rows, term rows) per chunk, built as the service builds them."""
    from hounsfield.config import get_settings
    from hounsfield.db import utcnow
    from hounsfield.patients import crypto, search

    settings = get_settings()
    ring = crypto.keyring(settings)
    now = utcnow()
    for base in range(start, start + count, CHUNK):
        patients, terms = [], []
        for i in range(base, min(base + CHUNK, start + count)):
            p = _person(i, seed)
            nid_hash = crypto.keyed_hash(settings, "national_id", p["national_id"])
            phone_hash = crypto.keyed_hash(settings, "phone", p["phone"])
            patients.append({
                "id": i, "mrn": p["mrn"], "issuer": "", "name_ideographic": p["name_ideographic"],
                "name_alphabetic": p["name_alphabetic"], "name_phonetic": "",
                "sort_name": search.sort_name(p["name_ideographic"], p["name_alphabetic"]),
                "sex": p["sex"], "birth_date": p["birth_date"], "key_id": ring.current,
                "national_id_enc": ring.encrypt("national_id", p["national_id"]),
                "national_id_hash": nid_hash, "phone_enc": ring.encrypt("phone", p["phone"]),
                "phone_hash": phone_hash, "address": "", "allergies": "", "notes": "",
                "version": 1, "created_at": now, "updated_at": now,
            })  # fmt: skip
            found = search.terms(
                search.Searchable(
                    mrn=p["mrn"], name_ideographic=p["name_ideographic"],
                    name_alphabetic=p["name_alphabetic"], national_id_hash=nid_hash,
                    phone_hash=phone_hash,
                )
            )  # fmt: skip
            key = patients[-1]["sort_name"]
            terms.extend({"term": t, "sort_name": key, "patient_id": i} for t in found)
        # In key order: each chunk then appends runs to the term index instead of
        # touching a page per row.
        terms.sort(key=lambda r: (r["term"], r["sort_name"], r["patient_id"]))
        yield patients, terms


# Secondary indexes whose keys arrive in random order: on MariaDB they are dropped for the
# load and built after it by sorting (InnoDB's default 128 MiB buffer pool, a global we
# leave alone, cannot hold them while 10,000,000 random inserts go in).
DEFERRED = {
    "patients": ("ix_patients_sort_name", "ix_patients_birth_date",
                 "ix_patients_national_id_hash", "ix_patients_phone_hash"),
}  # fmt: skip
TERMS_KEY = "term, sort_name, patient_id"
PER_TRANSACTION = 50_000  # patients per commit


def _mariadb_prepare(conn: Any) -> None:
    """Session settings for the bulk load, and the random-order indexes out of the way."""
    from sqlalchemy import inspect, text

    conn.execute(text("SET SESSION unique_checks=0, foreign_key_checks=0"))
    conn.execute(text("SET SESSION sort_buffer_size=268435456"))
    inspector = inspect(conn)
    for table, names in DEFERRED.items():
        present = {ix["name"] for ix in inspector.get_indexes(table)}
        for name in names:
            if name in present:
                conn.execute(text(f"DROP INDEX {name} ON {table}"))
    if inspector.get_pk_constraint("patient_search_terms")["constrained_columns"]:
        conn.execute(text("ALTER TABLE patient_search_terms DROP PRIMARY KEY"))
    conn.commit()


def _mariadb_finish(conn: Any) -> None:
    """Build what _mariadb_prepare dropped (sorted builds), whatever is still missing."""
    from sqlalchemy import inspect, text

    from hounsfield.db import Base

    inspector = inspect(conn)
    if not inspector.get_pk_constraint("patient_search_terms")["constrained_columns"]:
        print("  building the term key", flush=True)
        conn.execute(text(f"ALTER TABLE patient_search_terms ADD PRIMARY KEY ({TERMS_KEY})"))
    for table, names in DEFERRED.items():
        present = {ix["name"] for ix in inspector.get_indexes(table)}
        for index in Base.metadata.tables[table].indexes:
            if index.name in names and index.name not in present:
                print(f"  building {index.name}", flush=True)
                index.create(conn)
    conn.commit()


def _sqlite_prepare(conn: Any) -> None:
    """A large page cache and no fsync for this connection (the bench's own file)."""
    raw = conn.connection.driver_connection  # outside the engine's BEGIN
    raw.execute("PRAGMA cache_size=-2000000")  # KiB: 2 GB
    raw.execute("PRAGMA synchronous=OFF")


def load(n: int, seed: int) -> float:
    """Insert N patients (ids 1..N) with their terms; returns seconds taken."""
    from sqlalchemy import func, insert, select, text

    from hounsfield.db import get_engine
    from hounsfield.patients.models import PatientRecord, PatientSearchTerm

    engine = get_engine()
    mariadb = engine.dialect.name in ("mysql", "mariadb")
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(PatientRecord)) or 0
    started = time.perf_counter()
    done = have
    with engine.connect() as conn:
        if have < n:
            (_mariadb_prepare if mariadb else _sqlite_prepare)(conn)
            for patients, terms in _rows(have + 1, n - have, seed):
                # Core executemany: pymysql sends multi-row INSERTs, sqlite3 one prepared
                # statement; a commit per PER_TRANSACTION patients.
                conn.execute(insert(PatientRecord), patients)
                conn.execute(insert(PatientSearchTerm), terms)
                done += len(patients)
                if done % PER_TRANSACTION < CHUNK:
                    conn.commit()
                if done % 100_000 < CHUNK:
                    rate = (done - have) / (time.perf_counter() - started)
                    print(f"  {done:,} patients ({rate:,.0f}/s)", flush=True)
            conn.commit()
        else:
            print(f"  {have:,} patients already loaded", flush=True)
        if mariadb:
            _mariadb_finish(conn)
            conn.execute(text("ANALYZE TABLE patients, patient_search_terms"))
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return time.perf_counter() - started


def _queries(n: int, seed: int, count: int) -> dict[str, list[dict[str, Any]]]:
    """Filters per kind, from patients that exist (regenerated with the same seeds)."""
    from pypinyin import Style, lazy_pinyin

    rng = random.Random(seed + 7)
    people = [_person(rng.randrange(1, n + 1), seed) for _ in range(count)]
    kinds: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "mrn", "hanzi", "pinyin", "initials", "latin", "national_id", "phone",
        "sex+birth_date", "list (no q)",
    )}  # fmt: skip
    for p in people:
        chinese = p["name_ideographic"].replace("^", "")
        kinds["mrn"].append({"q": p["mrn"]})
        kinds["hanzi"].append({"q": chinese})
        kinds["pinyin"].append({"q": "".join(lazy_pinyin(chinese))})
        kinds["initials"].append({"q": "".join(lazy_pinyin(chinese, style=Style.FIRST_LETTER))})
        kinds["latin"].append({"q": p["name_alphabetic"].replace("^", " ")})
        kinds["national_id"].append({"q": p["national_id"]})
        kinds["phone"].append({"q": p["phone"]})
        kinds["sex+birth_date"].append({"sex": p["sex"], "birth_date": p["birth_date"]})
        kinds["list (no q)"].append({})
    return kinds


def measure(kinds: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[float, float, float]]:
    from hounsfield.db import transaction
    from hounsfield.patients.service import PatientFilters, list_patients

    results = {}
    for kind, filters in kinds.items():
        times = []
        for f in filters:
            started = time.perf_counter()
            with transaction() as session:
                items, _total = list_patients(session, None, PatientFilters(**f), limit=50)
            times.append((time.perf_counter() - started) * 1000)
            if f and not items:
                raise SystemExit(f"{kind} {f}: no match (the data and the queries disagree)")
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        results[kind] = (statistics.median(times), p95, times[-1])
    return results


def run(db: str, n: int, seed: int, count: int, sqlite_dir: Path) -> None:
    url = MARIADB_URL if db == "mariadb" else f"sqlite:///{sqlite_dir}/patients-{n}.db"
    os.environ["HOUNSFIELD_DATABASE_URL"] = url
    os.environ["HOUNSFIELD_DATA_DIR"] = str(sqlite_dir)
    os.environ.setdefault("HOUNSFIELD_LOG_LEVEL", "WARNING")
    from hounsfield.config import get_settings
    from hounsfield.db import reset_engine
    from hounsfield.migrate import upgrade

    get_settings.cache_clear()
    reset_engine()
    if db == "mariadb":
        _create_mariadb()
    upgrade()
    print(f"{db}: loading {n:,} patients", flush=True)
    seconds = load(n, seed)
    print(f"{db}: loaded in {seconds:.0f} s; {count} queries per kind", flush=True)
    kinds = _queries(n, seed, count)
    measure({k: v[:5] for k, v in kinds.items()})  # warm the caches
    print(f"| {db}, {n:,} patients | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for kind, (p50, p95, top) in measure(kinds).items():
        print(f"| {kind} | {p50:.1f} | {p95:.1f} | {top:.1f} |", flush=True)


def _create_mariadb() -> None:
    import sqlalchemy as sa

    url = sa.make_url(MARIADB_URL)
    engine = sa.create_engine(url.set(database=""))
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"CREATE DATABASE IF NOT EXISTS {url.database} CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_unicode_ci"
        ))  # fmt: skip
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients to load")
    parser.add_argument("--db", action="append", choices=("sqlite", "mariadb"))
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--dir", type=Path, help="SQLite file and secrets (kept for reruns)")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="hf-patient-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    for db in args.db or ["sqlite"]:
        run(db, args.n, args.seed, args.queries, directory)


if __name__ == "__main__":
    sys.exit(main())
