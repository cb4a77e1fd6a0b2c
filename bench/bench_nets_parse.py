"""Benchmark of the Nets Betalingsservice codec: render and parse of 100,000 records.

Generates (deterministically) a 0601 delivery with 100,000 collections (each with one
notification text line) and a 0602 delivery with 100,000 payment records, then times
rendering and parsing, best of 3 (time.perf_counter).

Run from the repository root: ``.venv/bin/python bench/bench_nets_parse.py``
"""
import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from receivable_collection_nets.betalingsservice import (  # noqa: E402
    CollectionOrder,
    CreditorSection,
    DeliveryStart,
    PaymentEvent,
    ReplySectionStart,
    layout_0601,
    parse,
    parse_0602,
    render,
    with_totals,
)

RECORDS = 100_000
SECTIONS = 10
REPEAT = 3
FIRST_DATE = date(2026, 2, 1)


def sections_0601():
    """Return creditor sections holding RECORDS collections in total."""
    per_section = RECORDS // SECTIONS
    sections = []
    for group in range(1, SECTIONS + 1):
        orders = []
        for i in range(per_section):
            n = (group - 1) * per_section + i
            orders.append(CollectionOrder(
                customer_number=f'C{n:08d}',
                payment_date=FIRST_DATE + timedelta(days=n % 28),
                amount=Decimal(n % 500000 + 100).scaleb(-2),
                mandate_number=f'{n + 1:09d}',
                reference=f'INV/2026/{n:06d}',
                texts=(f'Faktura INV/2026/{n:06d}',)))
        sections.append(CreditorSection(
            '01234567', group, tuple(orders), creditor_id='BENCH', bank_reg='1234',
            bank_account='0001234567', main_text='Opkrævning'))
    return sections


def records_0602():
    """Return the records of a 0602 delivery with RECORDS payment events."""
    per_section = RECORDS // SECTIONS
    body = [DeliveryStart('12345678', 'BS1', '0602', 1234, date(2026, 2, 2))]
    codes = ('0236', '0236', '0236', '0237', '0238', '0239')
    for group in range(1, SECTIONS + 1):
        body.append(ReplySectionStart('01234567', '0211', group, 'BENCH', date(2026, 2, 2)))
        for i in range(per_section):
            n = (group - 1) * per_section + i
            code = codes[n % len(codes)]
            amount = Decimal(n % 500000 + 100).scaleb(-2)
            paid = amount if code in ('0236', '0239') else Decimal('0.00')
            day = FIRST_DATE + timedelta(days=n % 28)
            done = day if paid else None
            body.append(PaymentEvent(
                '01234567', code, group, f'C{n:08d}'.rjust(15, '0'), f'{n + 1:09d}', day, 1,
                amount, f'INV/2026/{n:06d}', done, done, paid))
    return list(with_totals(body))


def best_of(function, repeat=REPEAT):
    """Return (best seconds, last result) of calling ``function`` ``repeat`` times."""
    best = None
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def report(name, seconds, records, collections):
    """Print one benchmark line."""
    print(f'{name:<28} {seconds:8.3f} s  {records / seconds:12,.0f} records/s  '
          f'{collections / seconds:12,.0f} collections/s')


def bench_0601():
    """Time layout, render and parse of the 0601 delivery."""
    sections = sections_0601()
    seconds, records = best_of(lambda: layout_0601('12345678', 42, sections,
                                                   created=date(2026, 1, 15)))
    report('0601 layout (builder)', seconds, len(records), RECORDS)
    seconds, data = best_of(lambda: render(records))
    report('0601 render', seconds, len(records), RECORDS)
    seconds, parsed = best_of(lambda: list(parse(data)))
    assert parsed == records
    report('0601 parse', seconds, len(records), RECORDS)
    print(f'  0601 file: {len(data):,} bytes, {len(records):,} records '
          f'({RECORDS:,} collections + {RECORDS:,} text lines)')


def bench_0602():
    """Time render and parse of the 0602 delivery."""
    reply = records_0602()
    seconds, data = best_of(lambda: render(reply))
    report('0602 render', seconds, len(reply), RECORDS)
    seconds, parsed = best_of(lambda: list(parse(data)))
    assert parsed == reply
    report('0602 parse', seconds, len(reply), RECORDS)
    del parsed
    seconds, result = best_of(lambda: parse_0602(data))
    assert len(result.payments) == RECORDS
    report('0602 parse_0602 (events)', seconds, len(reply), RECORDS)
    print(f'  0602 file: {len(data):,} bytes, {len(reply):,} records')


def main():
    """Run the benchmark and print the figures."""
    print(f'Nets Betalingsservice codec, {RECORDS:,} collections / payments, best of {REPEAT}')
    bench_0601()
    bench_0602()


if __name__ == '__main__':
    main()
