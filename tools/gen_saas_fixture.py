#!/usr/bin/env python3
"""Generate a small multi-table SaaS export (accounts, subscriptions, tickets, events) with a planted truth.

The company is fictional; the files are shaped like the exports SaaS teams hand over:
- accounts.csv: a CRM accounts report (Account ID, Account Name, Industry, Employees, Country, Churned yes/no);
- subscriptions.csv: Stripe-style (Subscription ID, customer, plan, mrr, status, start_date,
  current_period_start, canceled_at), a plan change written as a second row of the same subscription;
- tickets.csv: Zendesk-style (Ticket ID, Organization = the account's name, Created at, Priority, Status);
- events.csv: Segment-style (account_id, event, timestamp), usage, lifecycle and cancellation events.

Planted truth: accounts in Computer Software with 51-200 employees expand (an add-on subscription,
NRR 1.2-1.4), raise about one ticket a year, use the product more and never churn; every other
account churns with probability 0.35, keeps NRR 0.8-1.05 and raises about five tickets a year.
Four accounts are written by hand (A0001-A0004) so a test can check the roll-up exactly, and
two accounts appear only in the subscriptions (A9001, A9002). Standard library only; the output
is byte-identical for a given seed.

    python tools/gen_saas_fixture.py OUT_DIR [--seed 11] [--accounts 400]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from pathlib import Path

AS_OF = dt.date(2024, 12, 31)
FIRST_START = dt.date(2021, 2, 1)
LAST_START = dt.date(2023, 12, 31)
INDUSTRIES = ("Computer Software", "Financial Services", "Retail", "Manufacturing", "Healthcare")
BANDS = ((11, 50), (51, 200), (201, 1000), (1001, 5000))
COUNTRIES = ("United States", "United Kingdom", "Germany", "France", "Canada")
USAGE = ("report_viewed", "dashboard_created", "user_invited", "export_run")
PLANS = (("Starter", 300), ("Growth", 800), ("Pro", 2000))


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def _stamp(day: dt.date, rng: random.Random) -> str:
    return f"{day.isoformat()}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"


def _months(first: dt.date, last: dt.date) -> float:
    return max((last - first).days, 0) / 30.4375


def _period_start(start: dt.date, end: dt.date | None) -> str:
    """The monthly anniversary of `start` on or before the end (or AS_OF): Stripe's current_period_start."""
    last = end or AS_OF
    day = min(start.day, 28)
    anchor = dt.date(last.year, last.month, day)
    if anchor > last:
        anchor = dt.date(last.year - (last.month == 1), 12 if last.month == 1 else last.month - 1, day)
    return max(anchor, start).isoformat()


def _hand_written(accounts, subs, tickets, events) -> None:
    """Four accounts whose roll-up a test checks exactly (see tests/test_saas_export.py)."""
    accounts += [
        ("A0001", "Northwind Labs", "Computer Software", "120", "United States", "no"),
        ("A0002", "Bluebird Retail", "Retail", "800", "Germany", "yes"),
        ("A0003", "Cobalt Health", "Healthcare", "40", "France", "no"),
        ("A0004", "Delta Forge", "Manufacturing", "300", "Canada", "no"),
    ]
    subs += [
        ("S-A0001-1", "A0001", "Pro", "1000.00", "active", "2022-01-15", _period_start(dt.date(2022, 1, 15), None), ""),
        (
            "S-A0001-2",
            "A0001",
            "Analytics add-on",
            "250.00",
            "active",
            "2023-01-15",
            _period_start(dt.date(2023, 1, 15), None),
            "",
        ),
        # one subscription, two rows: a downgrade on 2023-03-01, then cancelled on 2024-06-30
        ("S-A0002", "A0002", "Growth", "500.00", "canceled", "2022-03-01", "2023-02-01", "2023-03-01"),
        ("S-A0002", "A0002", "Starter", "400.00", "canceled", "2023-03-01", "2024-06-01", "2024-06-30"),
        # two products from the same day, and a third that came and went
        (
            "S-A0004-1",
            "A0004",
            "Growth",
            "300.00",
            "active",
            "2021-06-01",
            _period_start(dt.date(2021, 6, 1), None),
            "",
        ),
        (
            "S-A0004-2",
            "A0004",
            "Data add-on",
            "200.00",
            "active",
            "2021-06-01",
            _period_start(dt.date(2021, 6, 1), None),
            "",
        ),
        ("S-A0004-3", "A0004", "Seats add-on", "100.00", "canceled", "2023-06-01", "2023-12-01", "2024-01-01"),
        # accounts the accounts file does not have
        ("S-A9001-1", "A9001", "Starter", "300.00", "active", "2022-05-01", "2024-12-01", ""),
        ("S-A9001-2", "A9001", "Seats add-on", "50.00", "active", "2023-05-01", "2024-12-01", ""),
        ("S-A9002", "A9002", "Growth", "800.00", "active", "2023-02-01", "2024-12-01", ""),
    ]
    tickets += [
        ("Northwind Labs", "2023-03-01T09:00:00Z", "low", "solved"),
        ("Northwind Labs", "2024-06-01T09:00:00Z", "normal", "solved"),
        ("Bluebird Retail", "2022-05-01T09:00:00Z", "high", "solved"),
        ("Bluebird Retail", "2023-01-10T09:00:00Z", "urgent", "closed"),
        ("Bluebird Retail", "2024-05-01T09:00:00Z", "normal", "closed"),
        ("Bluebird Retail", "2024-08-01T09:00:00Z", "normal", "open"),  # after it churned: not counted
        ("Cobalt Health", "2021-01-10T09:00:00Z", "low", "solved"),
    ]  # the tickets file's first date
    events += [
        ("A0001", "subscription_created", "2022-01-15T08:00:00Z"),
        ("A0001", "report_viewed", "2024-11-02T10:00:00Z"),
        ("A0001", "report_viewed", "2024-12-31T16:00:00Z"),  # the data's last day: the roll-up's as-of date
        ("A0002", "subscription_created", "2022-03-01T08:00:00Z"),
        ("A0002", "dashboard_created", "2023-05-05T10:00:00Z"),
        ("A0002", "subscription_cancelled", "2024-06-30T12:00:00Z"),
    ]


def generate(out: Path, seed: int = 11, n_accounts: int = 400) -> dict[str, int]:
    """Write the four CSV files into `out`; returns how many rows each has and the planted segment's size."""
    rng = random.Random(seed)
    accounts: list[tuple] = []
    subs: list[tuple] = []
    tickets: list[tuple] = []
    events: list[tuple] = []
    _hand_written(accounts, subs, tickets, events)
    planted = 1  # A0001
    for i in range(len(accounts) + 1, n_accounts + 1):
        account = f"A{i:04d}"
        # every tenth account is in the planted segment; the others spread over all industries and sizes
        in_segment = i % 10 == 0
        industry = "Computer Software" if in_segment else rng.choice(INDUSTRIES)
        low, high = BANDS[1] if in_segment else rng.choice(BANDS)
        if not in_segment and industry == "Computer Software" and (low, high) == BANDS[1]:
            low, high = BANDS[2]  # keep the planted segment exactly the accounts drawn for it
        employees = rng.randint(low, high)
        planted += in_segment
        start = _day(rng, FIRST_START, LAST_START)
        churned = (not in_segment) and rng.random() < 0.35
        end = _day(rng, start + dt.timedelta(days=120), AS_OF - dt.timedelta(days=30)) if churned else None
        name = (
            f"{rng.choice(('Acme', 'Apex', 'Nova', 'Orbit', 'Pioneer', 'Summit', 'Vertex', 'Zenith'))} "
            f"{rng.choice(('Systems', 'Works', 'Group', 'Partners', 'Labs', 'Co'))} {i}"
        )
        accounts.append((account, name, industry, str(employees), rng.choice(COUNTRIES), "yes" if churned else "no"))
        plan, mrr = PLANS[min(2, employees // 400)]
        mrr = float(mrr + 2 * employees)
        status = "canceled" if churned else "active"
        if in_segment:  # expands: an add-on beside the main subscription
            subs.append(
                (
                    f"S-{account}-1",
                    account,
                    plan,
                    f"{mrr:.2f}",
                    status,
                    start.isoformat(),
                    _period_start(start, end),
                    end.isoformat() if end else "",
                )
            )
            addon = start + dt.timedelta(days=rng.randint(180, 360))
            if addon < AS_OF:
                subs.append(
                    (
                        f"S-{account}-2",
                        account,
                        "Analytics add-on",
                        f"{mrr * rng.uniform(0.2, 0.4):.2f}",
                        status,
                        addon.isoformat(),
                        _period_start(addon, end),
                        "",
                    )
                )
        elif rng.random() < 0.4:  # a downgrade: the same subscription id, a second row from the change
            change = start + dt.timedelta(days=rng.randint(90, 300))
            if end is None or change < end:
                subs.append(
                    (
                        f"S-{account}",
                        account,
                        plan,
                        f"{mrr:.2f}",
                        "canceled",
                        start.isoformat(),
                        _period_start(start, change),
                        change.isoformat(),
                    )
                )
                subs.append(
                    (
                        f"S-{account}",
                        account,
                        plan,
                        f"{mrr * rng.uniform(0.8, 0.95):.2f}",
                        status,
                        change.isoformat(),
                        _period_start(change, end),
                        end.isoformat() if end else "",
                    )
                )
            else:
                subs.append(
                    (
                        f"S-{account}",
                        account,
                        plan,
                        f"{mrr:.2f}",
                        status,
                        start.isoformat(),
                        _period_start(start, end),
                        end.isoformat(),
                    )
                )
        else:
            subs.append(
                (
                    f"S-{account}",
                    account,
                    plan,
                    f"{mrr:.2f}",
                    status,
                    start.isoformat(),
                    _period_start(start, end),
                    end.isoformat() if end else "",
                )
            )
        last = end or AS_OF
        years = (last - start).days / 365.25
        for _ in range(_poisson(rng, (1.0 if in_segment else 5.0) * years)):
            tickets.append(
                (
                    name,
                    _stamp(_day(rng, start, last), rng),
                    rng.choice(("low", "normal", "high", "urgent")),
                    rng.choice(("solved", "closed", "open")),
                )
            )
        events.append((account, "subscription_created", _stamp(start, rng)))
        for _ in range(_poisson(rng, (4.0 if in_segment else 1.5) * _months(start, last))):
            events.append((account, rng.choice(USAGE), _stamp(_day(rng, start, last), rng)))
        if end:
            events.append((account, "subscription_cancelled", _stamp(end, rng)))
    out.mkdir(parents=True, exist_ok=True)
    tickets.sort(key=lambda t: t[1])
    events.sort(key=lambda e: e[2])
    files = {
        "accounts.csv": (("Account ID", "Account Name", "Industry", "Employees", "Country", "Churned"), accounts),
        "subscriptions.csv": (
            (
                "Subscription ID",
                "customer",
                "plan",
                "mrr",
                "status",
                "start_date",
                "current_period_start",
                "canceled_at",
            ),
            subs,
        ),
        "tickets.csv": (
            ("Ticket ID", "Organization", "Created at", "Priority", "Status"),
            [(str(10000 + n), *t) for n, t in enumerate(tickets)],
        ),
        "events.csv": (("account_id", "event", "timestamp"), events),
    }
    for file_name, (header, rows) in files.items():
        with open(out / file_name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return {**{name: len(rows) for name, (_, rows) in files.items()}, "planted_segment": planted}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--accounts", type=int, default=400)
    args = parser.parse_args()
    print(generate(args.out, args.seed, args.accounts))
