"""The demo-data seed (`claims_askes.demo.seed`): deterministic, realistic, consistent, and rich
enough that every rule of docs/adjudication.md has cases to decide.

One database is seeded once for the module (small: 200 members, 1,000 claims) and read back
per schema through each service's own connection; what spans schemas is joined here, in
pandas, as the flows do. The rule checks below are a compact restatement of R1-R11 (and of
the inputs A1-A10 need): for every rule there must be a line that passes the rules before it
and fails that one, so the adjudication batch meets every outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest
from faker.providers.person.id_ID import Provider as IndonesianNames
from psycopg import sql

from claims_askes.core.services import service
from claims_askes.db.connections import service_connection
from claims_askes.demo.seed import SeedReport, seed_demo_data
from claims_askes.demo.seed.generate import CITIES, DemoData, generate
from claims_askes.demo.seed.load import SeedTargetNotEmptyError, table_checksums
from tests.conftest import Cluster, TestDatabase, fresh_database

MEMBERS = 200
CLAIMS = 1_000
SEED = 20_240_817
AS_OF = date(2025, 11, 25)


@dataclass
class Seeded:
    """The module's seeded database, its report, and the frames generate() makes for the
    same arguments (their columns are what the seed writes)."""

    db: TestDatabase
    report: SeedReport
    data: DemoData


@pytest.fixture(scope="module")
def seeded(module_db: TestDatabase) -> Seeded:
    report = seed_demo_data(MEMBERS, CLAIMS, SEED, as_of=AS_OF)
    return Seeded(db=module_db, report=report, data=generate(MEMBERS, CLAIMS, SEED, as_of=AS_OF))


def read(schema: str, query: str | sql.Composed) -> pd.DataFrame:
    """A query's rows as a DataFrame, through the schema's own service connection."""
    with service_connection(service(schema).key) as conn:
        cur = conn.execute(query)
        names = [d.name for d in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=names)


def days(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Date columns as datetime64 (NaT for NULL), for vectorised comparisons."""
    out = frame.copy()
    for c in cols:
        out[c] = pd.to_datetime(out[c])
    return out


def checksums(seeded: Seeded) -> dict[str, str]:
    """md5 of every seeded table over the columns the seed writes (not now() defaults)."""
    return table_checksums(
        {
            name: list(frame.columns)
            for name, frame in seeded.data.tables.items()
            if name in seeded.report.row_counts
        }
    )


# --- running it --------------------------------------------------------------------------


def test_report_counts_match_the_request_and_the_database(seeded: Seeded) -> None:
    report = seeded.report
    assert (report.members, report.claims, report.seed, report.as_of) == (
        MEMBERS,
        CLAIMS,
        SEED,
        AS_OF,
    )
    counts = {}
    for name in report.row_counts:
        schema, table = name.split(".")
        counts[name] = int(
            read(
                schema,
                sql.SQL("SELECT count(*) AS n FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                ),
            )["n"][0]
        )
    assert counts == report.row_counts
    assert counts["member_service.member"] == MEMBERS
    assert counts["claims_service.claim"] == CLAIMS
    assert counts["claims_service.claim_item"] == report.claim_lines
    assert 2.5 * CLAIMS < report.claim_lines < 3.5 * CLAIMS
    assert report.generate_seconds + report.load_seconds <= report.elapsed_seconds


def test_same_seed_gives_the_same_database_and_another_seed_another(
    seeded: Seeded, cluster: Cluster, template_db: str
) -> None:
    first = checksums(seeded)
    with fresh_database(cluster, template_db):
        seed_demo_data(MEMBERS, CLAIMS, SEED, as_of=AS_OF)
        again = checksums(seeded)
    with fresh_database(cluster, template_db):
        seed_demo_data(MEMBERS, CLAIMS, SEED + 1, as_of=AS_OF)
        other = checksums(seeded)
    assert again == first
    changed = {name for name in first if other[name] != first[name]}
    # Reference tables are the same whatever the seed (but their ids are drawn from it).
    assert changed == set(first)


def test_seeding_a_database_that_has_data_fails_clearly(seeded: Seeded) -> None:
    before = seeded.db.scalar("SELECT count(*) FROM claims_service.claim")
    with pytest.raises(SeedTargetNotEmptyError, match="already has rows.*empty database"):
        seed_demo_data(10, 10, SEED, as_of=AS_OF)
    assert seeded.db.scalar("SELECT count(*) FROM claims_service.claim") == before


# --- members and providers ---------------------------------------------------------------


def test_national_ids_are_16_digit_unique_niks_of_the_members_birth_date(seeded: Seeded) -> None:
    m = read(
        "member_service",
        "SELECT national_id, date_of_birth, gender, city FROM member_service.member",
    )
    assert m["national_id"].str.fullmatch(r"[0-9]{16}").all()
    assert m["national_id"].is_unique
    # NIK: regency and district (6), birth date DDMMYY with 40 added to the day for women.
    dob = pd.to_datetime(m["date_of_birth"])
    day = dob.dt.day + np.where(m["gender"] == "F", 40, 0)
    ddmmyy = (
        day.map("{:02d}".format)
        + dob.dt.month.map("{:02d}".format)
        + (dob.dt.year % 100).map("{:02d}".format)
    )
    assert (m["national_id"].str[6:12] == ddmmyy).all()
    regency = {c[0]: str(c[2]) for c in CITIES}
    assert (m["national_id"].str[:4] == m["city"].map(regency)).all()


def test_members_have_indonesian_names_and_addresses(seeded: Seeded) -> None:
    m = read(
        "member_service",
        "SELECT first_name, middle_name, last_name, gender, mobile, "
        "phone, email, city, state_province, postal_code, country, "
        "address_line1, address_line2 FROM member_service.member",
    )
    firsts = set(IndonesianNames.first_names)
    lasts = set(IndonesianNames.last_names)
    assert m["first_name"].isin(firsts).all()
    assert m["last_name"].isin(lasts).all()
    assert m["middle_name"].dropna().isin(firsts).all()
    assert set(m["gender"]) == {"F", "M"}
    assert (m["country"] == "ID").all()
    assert m["city"].isin({c[0] for c in CITIES}).all()
    assert m["postal_code"].str.fullmatch(r"[0-9]{5}").all()
    assert m["address_line2"].str.fullmatch(r"RT \d{3}/RW \d{3}, Kel\. .+").all()
    assert m["mobile"].dropna().str.fullmatch(r"\+628\d{9,11}").all()
    assert m["phone"].dropna().str.startswith("+62").all()
    assert m["email"].dropna().str.fullmatch(r"[a-z]+\.[a-z]+\d*@[a-z.]+").all()


def test_providers_in_and_out_of_network_with_fee_schedules(seeded: Seeded) -> None:
    prov = read("provider_service", "SELECT id, provider_type FROM provider_service.provider")
    contract = read(
        "provider_service",
        "SELECT provider_id, network_status, status FROM provider_service.provider_contract",
    )
    fees = read(
        "provider_service",
        "SELECT provider_id, procedure_code, allowed_amount, "
        "effective_date, expiration_date "
        "FROM provider_service.provider_fee_schedule",
    )
    assert set(prov["provider_type"]) == {
        "hospital",
        "clinic",
        "puskesmas",
        "laboratory",
        "pharmacy",
        "specialist",
        "dentist",
        "optical",
    }
    in_net = set(contract.loc[contract["network_status"] == "in_network", "provider_id"])
    out_net = set(contract.loc[contract["network_status"] == "out_of_network", "provider_id"])
    assert in_net and out_net
    assert set(contract["status"]) == {"active", "terminated"}
    assert set(prov["id"]) - in_net - out_net, "some providers have no contract at all"
    with_fees = set(fees["provider_id"])
    assert len(in_net & with_fees) > 0.8 * len(in_net)
    assert (fees["allowed_amount"] > 0).all()
    assert fees["expiration_date"].notna().any(), "price revisions end older fee rows"


# --- plans -------------------------------------------------------------------------------


def test_plans_use_every_cost_sharing_feature(seeded: Seeded) -> None:
    pb = read("benefit_service", "SELECT * FROM benefit_service.plan_benefit")
    cs = read("benefit_service", "SELECT oop_max FROM benefit_service.cost_sharing")
    plans = read("policy_service", "SELECT id, plan_type, status FROM policy_service.plan")
    assert set(pb["plan_id"]) == set(plans["id"])
    assert set(plans["plan_type"]) == {"individual", "family", "group"}
    features = {
        "deductible": pb["deductible_amount"] > 0,
        "copay": pb["copay_amount"] > 0,
        "coinsurance": pb["coinsurance_percentage"] > 0,
        "annual limit": pb["annual_limit"].notna(),
        "incident limit": pb["incident_limit"].notna(),
        "lifetime limit": pb["lifetime_limit"].notna(),
        "day limit": pb["day_limit"].notna(),
        "visit limit": pb["visit_limit"].notna(),
        "network reduction in network": pb["in_network_coverage"] < 100,
        "network reduction out of network": pb["out_network_coverage"] < 100,
        "no out-of-network cover": pb["out_network_coverage"] == 0,
        "pre-authorization": pb["requires_preauth"],
        "waiting period": pb["waiting_period_days"] > 0,
        "minimum age": pb["age_limit_min"].notna(),
        "maximum age": pb["age_limit_max"].notna(),
        "inactive benefit": ~pb["is_active"],
        "expired benefit": pb["expiration_date"].notna(),
    }
    missing = [name for name, rows in features.items() if not rows.any()]
    assert missing == []
    assert cs["oop_max"].notna().any() and cs["oop_max"].isna().any()
    limits = read(
        "benefit_service",
        "SELECT DISTINCT limitation_type, period FROM benefit_service.benefit_limitation",
    )
    assert set(limits["limitation_type"]) == {"amount", "days", "visits"}
    assert set(limits["period"]) == {"per_year", "per_incident", "lifetime"}


# --- claims ------------------------------------------------------------------------------


def test_claims_are_cashless_and_reimbursement_submitted_or_pended(seeded: Seeded) -> None:
    claims = read(
        "claims_service",
        "SELECT id, claim_type, status, adjudication_version FROM claims_service.claim",
    )
    lines = read(
        "claims_service", "SELECT claim_id, status, reason_code FROM claims_service.claim_item"
    )
    history = read(
        "claims_service",
        "SELECT claim_id, from_status, to_status, reason_code "
        "FROM claims_service.claim_status_history",
    )
    notes = read("claims_service", "SELECT claim_id, note_type FROM claims_service.claim_note")
    assert set(claims["claim_type"]) == {"cashless", "reimbursement"}
    status = claims["status"].value_counts()
    assert set(status.index) == {"submitted", "pended"}
    assert 0 < status["pended"] < 0.05 * CLAIMS
    pended = set(claims.loc[claims["status"] == "pended", "id"])
    assert set(lines.loc[lines["status"] == "pended", "claim_id"]) == pended
    assert (lines.loc[lines["status"] == "pended", "reason_code"] == "PREAUTH_PENDING").all()
    assert set(lines["status"]) == {"submitted", "pended"}
    assert set(history["claim_id"]) == pended == set(notes["claim_id"])
    assert (history["to_status"] == "pended").all() and (notes["note_type"] == "pend").all()
    assert (claims.loc[claims["status"] == "pended", "adjudication_version"] == 1).all()


def test_claim_totals_are_the_sums_of_their_lines(seeded: Seeded) -> None:
    totals = read(
        "claims_service",
        """
        SELECT c.id, c.total_charged_amount AS total, coalesce(sum(ci.charged_amount), 0) AS s
        FROM claims_service.claim AS c
        LEFT JOIN claims_service.claim_item AS ci ON ci.claim_id = c.id
        GROUP BY c.id, c.total_charged_amount""",
    )
    assert (totals["total"] == totals["s"]).all()
    assert (totals["total"] >= 0).all()


def test_claim_numbers_continue_from_the_counter(seeded: Seeded) -> None:
    numbers = read("claims_service", "SELECT claim_number FROM claims_service.claim")
    counter = read(
        "claims_service", "SELECT period, last_value FROM claims_service.claim_number_counter"
    )
    parts = numbers["claim_number"].str.extract(r"CLM-(\d{4})-(\d{2})-(\d{6,})")
    assert parts.notna().all().all()
    seq = parts.assign(period=parts[0] + "-" + parts[1], n=parts[2].astype(int))
    top = seq.groupby("period")["n"].agg(["max", "count"])
    assert (top["max"] == top["count"]).all(), "numbers of a month have no gaps"
    assert dict(zip(counter["period"], counter["last_value"], strict=True)) == top["max"].to_dict()


def test_references_across_schemas_hold_except_the_deliberately_unknown(seeded: Seeded) -> None:
    members = set(read("member_service", "SELECT id FROM member_service.member")["id"])
    providers = set(read("provider_service", "SELECT id FROM provider_service.provider")["id"])
    policies = set(read("policy_service", "SELECT id FROM policy_service.policy")["id"])
    plans = set(read("policy_service", "SELECT id FROM policy_service.plan")["id"])
    benefits = set(read("claims_service", "SELECT code FROM common.benefit_code")["code"])
    claims = read(
        "claims_service",
        "SELECT member_id, provider_id, policy_id, service_type FROM claims_service.claim",
    )
    lines = read("claims_service", "SELECT benefit_code FROM claims_service.claim_item")
    coverage = read(
        "member_service", "SELECT member_id, policy_id, plan_id FROM member_service.member_coverage"
    )
    pb = read("benefit_service", "SELECT plan_id, benefit_code FROM benefit_service.plan_benefit")
    exclusions = read(
        "benefit_service", "SELECT plan_id, benefit_code FROM benefit_service.benefit_exclusion"
    )
    cost = read("benefit_service", "SELECT plan_id FROM benefit_service.cost_sharing")
    acc = read("benefit_service", "SELECT member_id, benefit_code FROM benefit_service.accumulator")
    auth = read(
        "authorization_service",
        "SELECT member_id, provider_id, benefit_code FROM authorization_service.authorization",
    )
    policy_plans = set(
        read("policy_service", "SELECT plan_id FROM policy_service.policy")["plan_id"]
    )
    service_types = set(read("claims_service", "SELECT code FROM common.service_type")["code"])

    unknown_member = ~claims["member_id"].isin(members)
    unknown_provider = ~claims["provider_id"].isin(providers)
    assert 0 < unknown_member.sum() <= 0.01 * CLAIMS  # R2: claims of nobody we insure
    assert 0 < unknown_provider.sum() <= 0.01 * CLAIMS
    assert claims.loc[~unknown_member, "policy_id"].isin(policies).all()
    assert claims["service_type"].isin(service_types).all()
    line_benefits = lines["benefit_code"].dropna()
    assert line_benefits.isin(benefits).all() and lines["benefit_code"].isna().any()  # R1
    assert coverage["member_id"].isin(members).all()
    assert coverage["policy_id"].isin(policies).all()
    assert coverage["plan_id"].isin(plans).all()
    assert policy_plans <= plans
    assert set(pb["plan_id"]) == plans and set(pb["benefit_code"]) == benefits
    assert exclusions["plan_id"].isin(plans).all()
    assert exclusions["benefit_code"].dropna().isin(benefits).all()
    assert set(cost["plan_id"]) == plans
    assert acc["member_id"].isin(members).all() and acc["benefit_code"].isin(benefits).all()
    assert auth["member_id"].isin(members).all() and auth["benefit_code"].isin(benefits).all()
    assert auth["provider_id"].dropna().isin(providers).all()
    assert auth["provider_id"].isna().any(), "some authorizations name no provider (any)"


def test_opening_balances_are_the_seeded_accumulators(seeded: Seeded) -> None:
    if "benefit_service.accumulator_opening" not in seeded.report.row_counts:
        pytest.skip("benefit_service has no accumulator_opening (its migration is not in)")
    columns = sql.SQL(", ").join(
        sql.Identifier(c)
        for c in (
            "member_id",
            "benefit_code",
            "year",
            "amount_used",
            "deductible_used",
            "oop_used",
            "visits_used",
            "days_used",
        )
    )
    acc, opening = (
        read(
            "benefit_service",
            sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier("benefit_service", table)),
        )
        for table in ("accumulator", "accumulator_opening")
    )
    key = ["member_id", "benefit_code", "year"]
    assert len(acc) > 0
    pd.testing.assert_frame_equal(
        acc.sort_values(key).reset_index(drop=True), opening.sort_values(key).reset_index(drop=True)
    )


def test_authorizations_are_approved_pending_and_denied(seeded: Seeded) -> None:
    auth = read(
        "authorization_service",
        "SELECT status, decided_at, valid_from, valid_to FROM authorization_service.authorization",
    )
    assert set(auth["status"]) == {"approved", "pending", "denied"}
    assert auth.loc[auth["status"] == "pending", "decided_at"].isna().all()
    assert auth.loc[auth["status"] != "pending", "decided_at"].notna().all()
    assert (auth["valid_to"] >= auth["valid_from"]).all()


# --- every rule has cases ----------------------------------------------------------------


@dataclass
class World:
    """The lines to adjudicate, with what each service knows, as DataFrames."""

    lines: pd.DataFrame
    claims: pd.DataFrame
    members: pd.DataFrame
    coverage: pd.DataFrame
    contracts: pd.DataFrame
    fees: pd.DataFrame
    benefits: pd.DataFrame
    exclusions: pd.DataFrame
    cost: pd.DataFrame
    acc: pd.DataFrame
    auth: pd.DataFrame


@pytest.fixture(scope="module")
def world(seeded: Seeded) -> World:
    claims = days(
        read(
            "claims_service",
            """
        SELECT c.id AS claim_id, c.claim_number, c.member_id, c.provider_id, c.service_date,
               c.admission_date, c.discharge_date, c.submission_date, c.claim_type,
               (SELECT count(*) FROM claims_service.claim_item AS ci
                WHERE ci.claim_id = c.id) AS n_lines
        FROM claims_service.claim AS c""",
        ),
        "service_date",
        "admission_date",
        "discharge_date",
    )
    lines = read(
        "claims_service",
        """
        SELECT id AS line_id, claim_id, line_number, benefit_code, procedure_code,
               diagnosis_code, quantity, (charged_amount * 100)::bigint AS charged
        FROM claims_service.claim_item""",
    ).merge(claims, on="claim_id")
    members = days(
        read(
            "member_service",
            """
        SELECT id AS member_id, status AS member_status, date_of_birth, enrollment_date,
               termination_date FROM member_service.member""",
        ),
        "date_of_birth",
        "enrollment_date",
        "termination_date",
    )
    coverage = days(
        read(
            "member_service",
            """
        SELECT id AS coverage_id, member_id, plan_id, effective_date AS cov_from,
               termination_date AS cov_to, status AS cov_status
        FROM member_service.member_coverage""",
        ),
        "cov_from",
        "cov_to",
    )
    contracts = days(
        read(
            "provider_service",
            """
        SELECT provider_id, network_status, effective_date, termination_date, status
        FROM provider_service.provider_contract""",
        ),
        "effective_date",
        "termination_date",
    )
    fees = days(
        read(
            "provider_service",
            """
        SELECT provider_id, procedure_code, (allowed_amount * 100)::bigint AS fee,
               effective_date AS fee_from, expiration_date AS fee_to
        FROM provider_service.provider_fee_schedule""",
        ),
        "fee_from",
        "fee_to",
    )
    benefits = days(
        read(
            "benefit_service",
            """
        SELECT plan_id, benefit_code, is_active, effective_date AS pb_from,
               expiration_date AS pb_to, waiting_period_days, age_limit_min, age_limit_max,
               requires_preauth, visit_limit, day_limit,
               (annual_limit * 100)::bigint AS annual, (incident_limit * 100)::bigint AS incident,
               (lifetime_limit * 100)::bigint AS lifetime,
               (deductible_amount * 100)::bigint AS deductible,
               (copay_amount * 100)::bigint AS copay, coinsurance_percentage,
               in_network_coverage, out_network_coverage
        FROM benefit_service.plan_benefit""",
        ),
        "pb_from",
        "pb_to",
    )
    exclusions = days(
        read(
            "benefit_service",
            """
        SELECT plan_id, benefit_code AS ex_benefit, diagnosis_code_prefix, procedure_code AS
               ex_procedure, effective_date AS ex_from, expiration_date AS ex_to
        FROM benefit_service.benefit_exclusion""",
        ),
        "ex_from",
        "ex_to",
    )
    cost = days(
        read(
            "benefit_service",
            """
        SELECT plan_id, (oop_max * 100)::bigint AS oop_max, effective_date, expiration_date
        FROM benefit_service.cost_sharing""",
        ),
        "effective_date",
        "expiration_date",
    )
    acc = read(
        "benefit_service",
        """
        SELECT member_id, benefit_code, year, (amount_used * 100)::bigint AS amount_used,
               (oop_used * 100)::bigint AS oop_used, visits_used, days_used
        FROM benefit_service.accumulator""",
    )
    auth = days(
        read(
            "authorization_service",
            """
        SELECT member_id, benefit_code, provider_id AS auth_provider, status AS auth_status,
               valid_from, valid_to FROM authorization_service.authorization""",
        ),
        "valid_from",
        "valid_to",
    )
    return World(
        lines=lines,
        claims=claims,
        members=members,
        coverage=coverage,
        contracts=contracts,
        fees=fees,
        benefits=benefits,
        exclusions=exclusions,
        cost=cost,
        acc=acc,
        auth=auth,
    )


def within(sd: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    """start <= sd <= end, a missing end being open."""
    return (start <= sd) & (end.isna() | (sd <= end))


def any_per_line(pairs: pd.DataFrame, ok: pd.Series, index: pd.Index) -> pd.Series:
    """For each line (by line_id), whether any of its candidate rows satisfies `ok`."""
    hit = set(pairs.loc[ok, "line_id"])
    return pd.Series(index.isin(list(hit)), index=index)


def adjudicate_roughly(w: World) -> pd.DataFrame:
    """The line rules in their order, as set operations: enough to show which rule decides
    each line (R4, R10 and R11 follow the batch order of docs/adjudication.md)."""
    ln = w.lines.set_index("line_id", drop=False).copy()
    idx = ln.index
    rule = pd.Series(None, index=idx, dtype=object)

    def decide(name: str, fails: pd.Series) -> None:
        rule[rule.isna() & fails.reindex(idx, fill_value=False).astype(bool)] = name

    # R1
    decide(
        "R1",
        (ln["charged"] < 0)
        | (ln["quantity"] < 1)
        | ln["benefit_code"].isna()
        | (ln["discharge_date"] < ln["admission_date"]),
    )
    # R2
    ln = ln.merge(w.members, on="member_id", how="left").set_index(idx)
    sd = ln["service_date"]
    enrolled = within(sd, ln["enrollment_date"], ln["termination_date"])
    decide("R2", ln["member_status"].isna() | (ln["member_status"] == "suspended") | ~enrolled)
    # R3: the covering coverage with the latest effective date.
    live = w.coverage[w.coverage["cov_status"] != "cancelled"]
    pairs = ln[["line_id", "member_id", "service_date"]].merge(live, on="member_id")
    pairs = pairs[within(pairs["service_date"], pairs["cov_from"], pairs["cov_to"])]
    best = pairs.sort_values(["line_id", "cov_from"]).drop_duplicates("line_id", keep="last")
    ln = ln.join(best.set_index("line_id")[["coverage_id", "plan_id", "cov_from"]])
    first_start = live.groupby("member_id")["cov_from"].min()
    not_started = ln["member_id"].map(first_start) > sd
    decide("R3 not started", ln["coverage_id"].isna() & not_started)
    decide("R3 terminated", ln["coverage_id"].isna())
    # R4: a repeat of an earlier line (batch order) that passed R1-R3.
    order = ["member_id", "service_date", "submission_date", "claim_number", "line_number"]
    key = ["member_id", "provider_id", "service_date", "benefit_code", "procedure_code", "charged"]
    alive = ln[rule.isna()].sort_values(order)
    decide("R4", alive.duplicated(key, keep="first"))
    # R5: an active plan benefit on sd.
    ln = ln.join(
        ln[["plan_id", "benefit_code"]]
        .reset_index()
        .merge(w.benefits, on=["plan_id", "benefit_code"])
        .set_index("line_id")
        .drop(columns=["plan_id", "benefit_code"])
    )
    decide(
        "R5", ~(ln["is_active"].fillna(False).astype(bool) & within(sd, ln["pb_from"], ln["pb_to"]))
    )
    # R6: an exclusion of the plan active on sd, for this benefit or all.
    ex = ln[
        ["line_id", "plan_id", "benefit_code", "diagnosis_code", "procedure_code", "service_date"]
    ].merge(w.exclusions, on="plan_id")
    hits = (
        within(ex["service_date"], ex["ex_from"], ex["ex_to"])
        & (ex["ex_benefit"].isna() | (ex["ex_benefit"] == ex["benefit_code"]))
        & (
            (
                ex["diagnosis_code_prefix"].notna()
                & ex.apply(
                    lambda r: str(r["diagnosis_code"] or "").startswith(
                        str(r["diagnosis_code_prefix"])
                    ),
                    axis=1,
                )
            )
            | (ex["ex_procedure"] == ex["procedure_code"])
        )
    )
    decide("R6", any_per_line(ex, hits, idx))
    # R7: waiting period from the coverage start.
    waited = ln["cov_from"] + pd.to_timedelta(ln["waiting_period_days"].fillna(0), unit="D")
    decide("R7", sd < waited)
    # R8: age in whole years on sd.
    dob = ln["date_of_birth"]
    age = (
        sd.dt.year
        - dob.dt.year
        - ((sd.dt.month * 100 + sd.dt.day) < (dob.dt.month * 100 + dob.dt.day)).astype(int)
    )
    decide(
        "R8",
        (ln["age_limit_min"].notna() & (age < ln["age_limit_min"]))
        | (ln["age_limit_max"].notna() & (age > ln["age_limit_max"])),
    )
    # R9: an approved authorization, else a pending one pends the claim.
    need = ln[ln["requires_preauth"].fillna(False).astype(bool)]
    au = need[["line_id", "member_id", "benefit_code", "provider_id", "service_date"]].merge(
        w.auth, on=["member_id", "benefit_code"]
    )
    match = within(au["service_date"], au["valid_from"], au["valid_to"]) & (
        au["auth_provider"].isna() | (au["auth_provider"] == au["provider_id"])
    )
    approved = any_per_line(au, match & (au["auth_status"] == "approved"), idx)
    pending = any_per_line(au, match & (au["auth_status"] == "pending"), idx)
    needs = ln["requires_preauth"].fillna(False).astype(bool)
    pend_lines = needs & ~approved & pending & rule.isna()
    pended_claims = set(ln.loc[pend_lines, "claim_id"])
    decide("R9 missing", needs & ~approved & ~pending)
    decide("pended", ln["claim_id"].isin(pended_claims))
    # Running totals per member, benefit and year, in batch order.
    ln["year"] = sd.dt.year
    ln = ln.merge(w.acc, on=["member_id", "benefit_code", "year"], how="left").set_index(idx)
    for c in ("amount_used", "oop_used", "visits_used", "days_used"):
        ln[c] = ln[c].fillna(0)
    alive = ln[rule.isna()].sort_values(order)
    group = ["member_id", "benefit_code", "year"]
    # R10: rank of the claim among the member's surviving claims of the benefit and year.
    first_line = ~alive.duplicated(["claim_id", "benefit_code"])
    visit_rank = first_line.astype(int).groupby([alive[g] for g in group]).cumsum()
    decide(
        "R10",
        alive["visit_limit"].notna() & (alive["visits_used"] + visit_rank > alive["visit_limit"]),
    )
    # R11: covered days = what is left of the day limit (so far) for the quantity.
    alive = ln[rule.isna() & ln["day_limit"].notna()].sort_values(order)
    limit = alive["day_limit"].astype(float)
    total = alive["quantity"].groupby([alive[g] for g in group]).cumsum() + alive["days_used"]
    covered = total.clip(upper=limit) - (total - alive["quantity"]).clip(upper=limit)
    decide("R11", covered <= 0)
    ln["covered_days"] = covered.reindex(idx)
    ln["rule"] = rule
    return ln


@pytest.fixture(scope="module")
def decided(world: World) -> pd.DataFrame:
    return adjudicate_roughly(world)


def test_every_line_rule_decides_some_lines(decided: pd.DataFrame, world: World) -> None:
    outcomes = decided["rule"].fillna("passed").value_counts().to_dict()
    expected = {
        "R1",
        "R2",
        "R3 not started",
        "R3 terminated",
        "R4",
        "R5",
        "R6",
        "R7",
        "R8",
        "R9 missing",
        "pended",
        "R10",
        "R11",
        "passed",
    }
    assert expected <= set(outcomes), f"missing {expected - set(outcomes)}: {outcomes}"
    assert outcomes["passed"] > 0.6 * len(decided), outcomes  # most lines are paid
    # R1 on the claim level: a claim without lines.
    assert (world.claims["n_lines"] == 0).any()


def test_passing_lines_exercise_every_amount_step(decided: pd.DataFrame, world: World) -> None:
    ok = decided[decided["rule"].isna()].copy()
    # A1: network status of the provider on sd.
    net = world.contracts[
        (world.contracts["status"] == "active")
        & (world.contracts["network_status"] == "in_network")
    ]
    pairs = ok[["line_id", "provider_id", "service_date"]].merge(net, on="provider_id")
    in_net = any_per_line(
        pairs,
        within(pairs["service_date"], pairs["effective_date"], pairs["termination_date"]),
        ok.index,
    )
    assert in_net.any() and (~in_net).any()
    # A2: fee schedule below the charge; R11 proration.
    fee = ok[
        ["line_id", "provider_id", "procedure_code", "service_date", "quantity", "charged"]
    ].merge(world.fees, on=["provider_id", "procedure_code"])
    active = within(fee["service_date"], fee["fee_from"], fee["fee_to"])
    assert (active & (fee["fee"] * fee["quantity"] < fee["charged"])).any()
    assert (active & (fee["fee"] * fee["quantity"] >= fee["charged"])).any()
    prorated = ok["covered_days"].notna() & (ok["covered_days"] < ok["quantity"])
    assert prorated.any()
    # A3-A6: deductible, copay, coinsurance, network share below 100%.
    assert (ok["deductible"] > 0).any() and (ok["copay"] > 0).any()
    assert (ok["coinsurance_percentage"] > 0).any()
    pct = np.where(in_net, ok["in_network_coverage"], ok["out_network_coverage"])
    assert (pct < 100).any() and (pct == 100).any()
    # A7: members close to their out-of-pocket maximum this year.
    cost = world.cost[world.cost["oop_max"].notna()]
    cover_plan = ok.groupby("member_id")["plan_id"].last()
    oop = world.acc.groupby(["member_id", "year"])["oop_used"].sum().reset_index()
    oop["plan_id"] = oop["member_id"].map(cover_plan)
    near = oop.merge(cost, on="plan_id")
    assert (near["oop_used"] >= 0.7 * near["oop_max"]).any()
    # A8: one claim's charges for a benefit above its incident limit.
    per_claim = ok.groupby(["claim_id", "benefit_code"]).agg(
        charged=("charged", "sum"), incident=("incident", "first")
    )
    assert (per_claim["charged"] > per_claim["incident"]).any()
    # A9: the year's use plus the charges above the annual limit.
    per_year = ok.groupby(["member_id", "benefit_code", "year"]).agg(
        charged=("charged", "sum"), used=("amount_used", "first"), annual=("annual", "first")
    )
    assert (per_year["used"] + per_year["charged"] > per_year["annual"]).any()
    # A10: every year's use (accumulators of earlier years) against the lifetime limit.
    lifetime_used = world.acc.groupby(["member_id", "benefit_code"])["amount_used"].sum()
    per_life = ok.groupby(["member_id", "benefit_code"]).agg(
        charged=("charged", "sum"), life=("lifetime", "first")
    )
    per_life["used"] = lifetime_used.reindex(per_life.index).fillna(0)
    assert (
        per_life["life"].notna()
        & (per_life["used"] > 0)
        & (per_life["used"] + per_life["charged"] > per_life["life"])
    ).any()
    both = ok.loc[ok["claim_type"] == "cashless"], ok.loc[ok["claim_type"] == "reimbursement"]
    assert all(len(part) for part in both)
