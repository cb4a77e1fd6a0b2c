# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"The notification text builder, without a database."
import datetime as dt
import unittest
from decimal import Decimal

from receivable_collection.notice import NoticeItem, NoticeLayout, build_notice


def _date(value):
    return value.strftime('%d.%m.%Y')


def _amount(value):
    return f'{value:,.2f}'.replace(',', 'X').replace('.', ',').replace('X', '.')


ITEMS = [
    NoticeItem('2026-0001', dt.date(2026, 5, 1), dt.date(2026, 6, 1), 'Hosting', Decimal('120.00')),
    NoticeItem('2026-0002', dt.date(2026, 5, 3), dt.date(2026, 6, 3), '', Decimal('1080.5')),
    ]


class NoticeTestCase(unittest.TestCase):
    "build_notice lays out header, items, subtotal and footer."

    def test_full_layout(self):
        "Every column, the subtotal and the placeholders."
        layout = NoticeLayout(
            header='Dear ${party}, we collect ${total}.', footer='Thanks, ${company}',
            subtotal_label='Total', width=60)
        lines = build_notice(
            layout, ITEMS, {'party': 'Æble ApS', 'total': '1.200,50 DKK', 'company': 'Nordlys'},
            _date, _amount)
        self.assertEqual(lines, [
                'Dear Æble ApS, we collect 1.200,50 DKK.',
                '',
                f"{'2026-0001  01.05.2026  01.06.2026  Hosting':<53} 120,00",
                f"{'2026-0002  03.05.2026  03.06.2026':<51} 1.080,50",
                '-' * 60,
                f"{'Total':<51} 1.200,50",
                '',
                'Thanks, Nordlys',
                ])
        self.assertEqual({len(line) for line in lines[2:6]}, {60})
        self.assertTrue(all(len(line) <= 60 for line in lines))

    def test_columns_chosen(self):
        "Only the chosen columns appear; no subtotal when not asked."
        layout = NoticeLayout(columns=('number', 'amount'), subtotal=False, width=30)
        lines = build_notice(layout, ITEMS, {}, _date, _amount)
        self.assertEqual(lines, [
                '2026-0001' + ' ' * 15 + '120,00',
                '2026-0002' + ' ' * 13 + '1.080,50',
                ])

    def test_wraps_long_text(self):
        "Header paragraphs wrap at the width; long numbers are cut, amounts kept."
        layout = NoticeLayout(
            header='word ' * 20, columns=('number', 'amount'), subtotal=False, width=20)
        item = NoticeItem('X' * 40, None, None, '', Decimal('5'))
        lines = build_notice(layout, [item], {}, _date, _amount)
        self.assertTrue(all(len(line) <= 20 for line in lines))
        self.assertEqual(lines[-1], 'X' * 15 + ' 5,00')
        self.assertEqual(sum(line.count('word') for line in lines), 20)

    def test_unknown_placeholder_kept(self):
        "A placeholder the journal does not know stays readable."
        layout = NoticeLayout(header='Ref ${unknown}', columns=(), subtotal=False)
        self.assertEqual(build_notice(layout, [], {}, _date, _amount), ['Ref ${unknown}'])

    def test_width_too_small(self):
        "A layout narrower than 20 characters is refused."
        with self.assertRaises(ValueError):
            build_notice(NoticeLayout(width=10), ITEMS, {}, _date, _amount)
