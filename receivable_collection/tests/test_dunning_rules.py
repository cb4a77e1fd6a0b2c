"""Tests for the plain-Python dunning rules (levels, interest, clearing, presets)."""
import json
import math
import unittest
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from receivable_collection.dunning_rules import (
    NOTHING_DUE,
    PRESETS_PATH,
    SEND,
    THIRTY_360,
    WAIT_NOTICE,
    WAIT_SPACING,
    WINDOW_MISSED,
    Caps,
    LevelRule,
    MissingRateError,
    RatePeriod,
    ReferenceRate,
    Reminder,
    RuleError,
    allocate,
    allocate_invoices,
    choose_level,
    default_presets,
    instalment_timelines,
    interest,
    load_presets,
    validate_levels,
)

D = Decimal
PRESETS = default_presets()
DE = PRESETS.presets['DE']
DK = PRESETS.presets['DK']

# The German Mahnlauf of the spec: invoice 2026-03-02, payment term 14 days.
DE_INVOICE = date(2026, 3, 2)
DE_DUE = DE_INVOICE + timedelta(days=14)


def simulate(preset, due, run_days, history=()):
    """Run ``choose_level`` on each run day, sending every 'send' decision that day."""
    history = list(history)
    log = {}
    for days in run_days:
        today = due + timedelta(days=days)
        decision = choose_level(preset.levels, days, history, preset.caps(), today)
        log[days] = decision
        if decision.status == SEND:
            history.append(Reminder(decision.level.sequence, today, decision.fee))
    return log, history


def sent(log):
    """{days overdue: level name} of the 'send' decisions."""
    return {days: d.level.name for days, d in log.items() if d.status == SEND}


def level(sequence, days, window, fee='0.00', **kw):
    return LevelRule(sequence, f'l{sequence}', days, window, D(fee), ('email',), **kw)


class GermanMahnlaufTest(unittest.TestCase):

    def test_due_date(self):
        self.assertEqual(DE_DUE, date(2026, 3, 16))

    def test_daily_run(self):
        log, history = simulate(DE, DE_DUE, range(0, 61))
        self.assertEqual(sent(log), {
            7: 'zahlungserinnerung', 21: 'mahnung_1', 35: 'mahnung_2', 49: 'handover'})
        self.assertEqual(
            [(r.level_sequence, r.date) for r in history],
            [(1, date(2026, 3, 23)), (2, date(2026, 4, 6)), (3, date(2026, 4, 20)),
             (4, date(2026, 5, 4))])
        # days after invoice: 21, 35, 49, 63 as in the spec's table
        self.assertEqual(
            [(r.date - DE_INVOICE).days for r in history], [21, 35, 49, 63])
        self.assertTrue(all(r.fee == 0 for r in history))
        expected = {}
        for days in range(0, 61):
            if days < 7:
                expected[days] = 'before_first_level'
            elif days in (7, 21, 35, 49):
                expected[days] = 'due'
            elif 8 <= days <= 10 or 22 <= days <= 28 or 36 <= days <= 42 or 50 <= days <= 56:
                expected[days] = 'level_already_sent'
            elif days > 56:
                expected[days] = 'after_last_level'
            else:
                expected[days] = 'between_levels'
        self.assertEqual({days: d.reason for days, d in log.items()}, expected)
        self.assertEqual(
            {d.status for days, d in log.items() if days not in (7, 21, 35, 49)},
            {NOTHING_DUE})
        handover = log[49]
        self.assertEqual(handover.level.channels, ('agency',))
        self.assertTrue(handover.level.handover)
        self.assertEqual(handover.missed, ())

    def test_run_every_ten_days(self):
        log, history = simulate(DE, DE_DUE, range(0, 61, 10))
        summary = {
            days: (d.status, d.reason, d.level and d.level.name,
                   tuple(m.name for m in d.missed))
            for days, d in log.items()}
        self.assertEqual(summary, {
            0: (NOTHING_DUE, 'before_first_level', None, ()),
            10: (SEND, 'due', 'zahlungserinnerung', ()),     # last day of its window
            20: (NOTHING_DUE, 'between_levels', None, ()),
            30: (WINDOW_MISSED, 'window_missed', None, ('mahnung_1',)),   # 21..28 skipped
            40: (SEND, 'due', 'mahnung_2', ('mahnung_1',)),
            50: (WAIT_NOTICE, 'notice_too_recent', 'handover', ()),   # notice 10 days old
            60: (WINDOW_MISSED, 'window_missed', None, ('handover',)),  # 49..56 skipped
        })
        self.assertEqual(log[50].wait_until, DE_DUE + timedelta(days=54))
        self.assertEqual([r.level_sequence for r in history], [1, 3])

    def test_run_every_ten_days_offset(self):
        log, _ = simulate(DE, DE_DUE, range(5, 61, 10))
        self.assertEqual(sent(log), {25: 'mahnung_1', 35: 'mahnung_2', 55: 'handover'})
        self.assertEqual(log[15].status, WINDOW_MISSED)
        self.assertEqual([m.name for m in log[15].missed], ['zahlungserinnerung'])
        self.assertEqual([m.name for m in log[25].missed], ['zahlungserinnerung'])
        self.assertEqual(log[45].reason, 'between_levels')

    def test_level_by_age_not_previous_plus_one(self):
        decision = choose_level(DE.levels, 40, [], DE.caps(), date(2026, 4, 25))
        self.assertEqual(decision.status, SEND)
        self.assertEqual(decision.level.name, 'mahnung_2')
        self.assertEqual(
            [m.name for m in decision.missed], ['zahlungserinnerung', 'mahnung_1'])

    def test_window_bounds_inclusive(self):
        today = date(2026, 5, 1)
        self.assertEqual(choose_level(DE.levels, 6, [], DE.caps(), today).status, NOTHING_DUE)
        self.assertEqual(choose_level(DE.levels, 7, [], DE.caps(), today).status, SEND)
        self.assertEqual(choose_level(DE.levels, 10, [], DE.caps(), today).status, SEND)
        missed = choose_level(DE.levels, 11, [], DE.caps(), today)
        self.assertEqual((missed.status, missed.level), (WINDOW_MISSED, None))

    def test_handover_without_notice(self):
        history = [Reminder(1, date(2026, 3, 23), D('0.00'))]
        decision = choose_level(DE.levels, 49, history, DE.caps(), date(2026, 5, 4))
        self.assertEqual((decision.status, decision.reason), (WAIT_NOTICE, 'notice_not_sent'))
        self.assertEqual([m.name for m in decision.missed], ['mahnung_1', 'mahnung_2'])

    def test_no_level_twice_and_not_lower(self):
        history = [Reminder(3, date(2026, 4, 20), D('0.00'))]
        decision = choose_level(DE.levels, 24, history, DE.caps(), date(2026, 4, 22))
        self.assertEqual((decision.status, decision.reason), (NOTHING_DUE, 'level_already_sent'))

    def test_never_two_reminders_same_day(self):
        today = date(2026, 4, 6)
        history = [Reminder(1, today, D('0.00'))]
        decision = choose_level(DE.levels, 21, history, DE.caps(), today)
        self.assertEqual(decision.status, NOTHING_DUE)
        self.assertEqual(decision.reason, 'already_reminded_today')
        self.assertIsNone(decision.to_send)

    def test_future_history_refused(self):
        history = [Reminder(1, date(2026, 4, 7), D('0.00'))]
        with self.assertRaises(RuleError) as caught:
            choose_level(DE.levels, 21, history, DE.caps(), date(2026, 4, 6))
        self.assertEqual(caught.exception.field, 'history[0].date')


class DanishFeeTest(unittest.TestCase):
    due = date(2026, 3, 2)

    def test_daily_run_three_fees(self):
        log, history = simulate(DK, self.due, range(0, 60))
        self.assertEqual(sent(log), {
            3: 'paamindelse', 10: 'rykker_1', 20: 'rykker_2', 30: 'rykker_3_inkassovarsel',
            41: 'handover'})
        self.assertEqual([r.fee for r in history], [D('0.00'), D(100), D(100), D(100), D(0)])
        self.assertEqual(sum(r.fee for r in history), D('300.00'))
        self.assertTrue(log[10].fee_applies)
        self.assertFalse(log[3].fee_applies)
        self.assertEqual(log[40].reason, 'between_levels')

    def test_spacing_gate(self):
        # the run is down on days 10..14: rykker_1 goes out on day 15 (inside 10..19)
        run_days = [d for d in range(0, 60) if not 10 <= d <= 14]
        log, history = simulate(DK, self.due, run_days)
        self.assertEqual(sent(log), {
            3: 'paamindelse', 15: 'rykker_1', 25: 'rykker_2', 35: 'rykker_3_inkassovarsel',
            45: 'handover'})
        for days in range(20, 25):
            self.assertEqual(log[days].status, WAIT_SPACING)
            self.assertEqual(log[days].reason, 'min_spacing')
            self.assertEqual(log[days].level.name, 'rykker_2')
            self.assertEqual(log[days].fee, D('100.00'))
            self.assertEqual(log[days].wait_until, self.due + timedelta(days=25))
        for days in range(30, 35):
            self.assertEqual(log[days].status, WAIT_SPACING)
        for days in range(41, 45):      # inkassovarsel sent on day 35 needs 10 days
            self.assertEqual((log[days].status, log[days].reason),
                             (WAIT_NOTICE, 'notice_too_recent'))
        spacing = [(b.date - a.date).days for a, b in zip(history[1:], history[2:4])]
        self.assertEqual(spacing, [10, 10])
        self.assertEqual(sum(r.fee for r in history), D('300.00'))

    def test_spacing_outlasting_window_is_flagged(self):
        history = [Reminder(2, self.due + timedelta(days=19), D('100.00'))]
        today = self.due + timedelta(days=20)
        caps = Caps(3, 15, 10)
        decision = choose_level(DK.levels, 20, history, caps, today)
        self.assertEqual(decision.status, WAIT_SPACING)
        self.assertEqual(decision.reason, 'spacing_outlasts_window')
        self.assertEqual(decision.wait_until, self.due + timedelta(days=34))

    def test_fee_cap_reached(self):
        # Three fee-bearing reminders already: paamindelse was charged under an earlier
        # configuration, rykker_1 and rykker_2 as usual (rykker_2 only 5 days ago).
        history = [
            Reminder(1, self.due + timedelta(days=3), D('100.00')),
            Reminder(2, self.due + timedelta(days=13), D('100.00')),
            Reminder(3, self.due + timedelta(days=25), D('100.00')),
        ]
        today = self.due + timedelta(days=30)
        decision = choose_level(DK.levels, 30, history, DK.caps(), today)
        self.assertEqual(decision.status, SEND)
        self.assertEqual(decision.level.name, 'rykker_3_inkassovarsel')
        self.assertEqual(decision.fee, D('0.00'))
        self.assertFalse(decision.fee_applies)
        self.assertTrue(decision.fee_cap_reached)
        # with only two fees charged, the same day waits for the 10-day spacing
        decision = choose_level(DK.levels, 30, history[1:], DK.caps(), today)
        self.assertEqual(decision.status, WAIT_SPACING)
        self.assertEqual(decision.wait_until, self.due + timedelta(days=35))
        self.assertFalse(decision.fee_cap_reached)

    def test_levels_without_fee_not_gated(self):
        levels = [level(1, 3, 3, fee='50.00'), level(2, 10, 5)]
        history = [Reminder(1, date(2026, 3, 8), D('50.00'))]
        decision = choose_level(levels, 10, history, Caps(3, 10, None), date(2026, 3, 10))
        self.assertEqual((decision.status, decision.fee), (SEND, D('0.00')))


class ValidateLevelsTest(unittest.TestCase):

    def assertRefused(self, levels, field, *words):
        with self.assertRaises(RuleError) as caught:
            validate_levels(levels)
        self.assertEqual(caught.exception.field, field)
        for word in words:
            self.assertIn(word, str(caught.exception))

    def test_sorted(self):
        levels = [level(2, 20, 5), level(1, 5, 5)]
        self.assertEqual([x.sequence for x in validate_levels(levels)], [1, 2])

    def test_overlap(self):
        self.assertRefused(
            [level(1, 7, 14), level(2, 21, 7)], 'levels.l1.max_window', "level 1 'l1'",
            'level 2')

    def test_backwards(self):
        self.assertRefused(
            [level(1, 21, 3), level(2, 7, 3)], 'levels.l2.days_overdue', "level 2 'l2'")

    def test_negative(self):
        self.assertRefused([level(1, 7, 3, fee='-1.00')], 'levels.l1.fee', 'negative')
        self.assertRefused([level(1, -1, 3)], 'levels.l1.days_overdue', 'negative')
        self.assertRefused([level(1, 7, -3)], 'levels.l1.max_window', 'negative')

    def test_other_errors(self):
        self.assertRefused([level(1, 7, 3), level(1, 21, 3)], 'levels.l1.name')
        self.assertRefused(
            [LevelRule(1, 'a', 7, 3, D(0), ('email',)), LevelRule(1, 'b', 21, 3, D(0), ('email',))],
            'levels.b.sequence')
        self.assertRefused(
            [LevelRule(1, 'a', 7, 3, D(0), ('fax',))], 'levels.a.channels', 'fax')
        self.assertRefused(
            [LevelRule(1, 'a', 7, 3, D(0), ('agency',), handover=True), level(2, 21, 3)],
            'levels.a.handover')
        self.assertRefused([LevelRule(1, 'a', 7, 3, 1.5, ('email',))], 'levels.a.fee')
        self.assertRefused([level(0, 7, 3)], 'levels.l0.sequence')


class InterestTest(unittest.TestCase):
    dk_rates = ReferenceRate('DK_NB_LENDING', (
        RatePeriod(date(2026, 1, 1), D('1.75')),
        RatePeriod(date(2026, 7, 1), D('1.60')),
    ))

    def test_dk_across_rate_change(self):
        # Due 2026-05-31, so interest runs 2026-06-01 .. 2026-07-31 (61 days):
        #   June 1-30: 10,000.00 x (1.75 + 8) %  x 30/365 = 29,250/365 = 80.1369863...
        #   July 1-31: 10,000.00 x (1.60 + 8) %  x 31/365 = 29,760/365 = 81.5342465...
        #   total      59,010/365 = 161.6712328...  -> 161.67
        result = interest(
            [(date(2026, 5, 31), D('10000.00'))], self.dk_rates, D('8.00'),
            date(2026, 5, 31), date(2026, 7, 31))
        self.assertEqual(result.total, D('161.67'))
        self.assertEqual(str(result.total), '161.67')
        self.assertEqual(
            [(s.date_from, s.date_to, s.days, s.principal, s.reference_rate, s.rate)
             for s in result.segments],
            [(date(2026, 6, 1), date(2026, 6, 30), 30, D('10000.00'), D('1.75'), D('9.75')),
             (date(2026, 7, 1), date(2026, 7, 31), 31, D('10000.00'), D('1.60'), D('9.60'))])
        self.assertEqual(
            [s.amount for s in result.segments], [D(29250) / D(365), D(29760) / D(365)])

    def test_partial_payment_splits_segment(self):
        # 4,000.00 paid on 2026-06-16: from that day 6,000.00 is open.
        #   Jun  1-15: 10,000 x 9.75 % x 15/365 = 14,625/365
        #   Jun 16-30:  6,000 x 9.75 % x 15/365 =  8,775/365
        #   Jul  1-31:  6,000 x 9.60 % x 31/365 = 17,856/365
        #   total 41,256/365 = 113.0301369... -> 113.03
        result = interest(
            [(date(2026, 5, 31), D('10000.00')), (date(2026, 6, 16), D('6000.00'))],
            self.dk_rates, D('8.00'), date(2026, 5, 31), date(2026, 7, 31))
        self.assertEqual(result.total, D('113.03'))
        self.assertEqual(
            [(s.date_from, s.days, s.principal, s.rate) for s in result.segments],
            [(date(2026, 6, 1), 15, D('10000.00'), D('9.75')),
             (date(2026, 6, 16), 15, D('6000.00'), D('9.75')),
             (date(2026, 7, 1), 31, D('6000.00'), D('9.60'))])

    def test_thirty_360(self):
        # 30E/360: 2026-05-31 -> 06-30 = 30 days, 06-30 -> 07-31 = 30 days (31st counts as 30)
        #   10,000 x 9.75 % x 30/360 = 81.25 ; 10,000 x 9.60 % x 30/360 = 80.00 -> 161.25
        result = interest(
            [(date(2026, 5, 31), D('10000.00'))], self.dk_rates, D('8.00'),
            date(2026, 5, 31), date(2026, 7, 31), day_count=THIRTY_360)
        self.assertEqual(result.total, D('161.25'))
        self.assertEqual([s.days for s in result.segments], [30, 30])
        self.assertEqual([s.amount for s in result.segments], [D('81.25'), D('80')])

    def test_thirty_e_360_february(self):
        # 30E/360 keeps 28 Feb as day 28: 2026-02-28 -> 03-01 counts 3 days;
        # 3,600 x (1.75 + 8.25) % x 3/360 = 3.00
        result = interest(
            [(date(2026, 2, 1), D('3600.00'))], self.dk_rates, D('8.25'),
            date(2026, 2, 28), date(2026, 3, 1), day_count=THIRTY_360)
        self.assertEqual((result.total, result.segments[0].days), (D('3.00'), 3))
        # 2026-01-31 -> 2026-03-31 is 60 days (59 actual): 3,600 x 10 % x 60/360 = 60.00
        result = interest(
            [(date(2026, 1, 1), D('3600.00'))], self.dk_rates, D('8.25'),
            date(2026, 1, 31), date(2026, 3, 31), day_count=THIRTY_360)
        self.assertEqual(result.total, D('60.00'))

    def test_de_preset_rate_missing(self):
        rates = DE.interest.rates
        with self.assertRaises(MissingRateError) as caught:
            interest([(date(2026, 6, 15), D('1000.00'))], rates, DE.interest.margin(True),
                     date(2026, 6, 15), date(2026, 7, 15))
        self.assertEqual(str(caught.exception), 'no DE_BASE_RATE for 2026-07-01')
        self.assertEqual(caught.exception.date, date(2026, 7, 1))
        self.assertEqual(caught.exception.key, 'DE_BASE_RATE')
        self.assertIsInstance(caught.exception, RuleError)
        with self.assertRaises(MissingRateError) as caught:
            interest([(date(2025, 12, 1), D('1.00'))], self.dk_rates, D('8.00'),
                     date(2025, 12, 20), date(2026, 1, 5))
        self.assertEqual(str(caught.exception), 'no DK_NB_LENDING for 2025-12-21')

    def test_no_rate_needed_once_paid(self):
        # paid in full on 2026-07-01: 1,000 x 10.27 % x 15/365 = 154,050/36,500 = 4.2205... -> 4.22
        result = interest(
            [(date(2026, 6, 15), D('1000.00')), (date(2026, 7, 1), D('0.00'))],
            DE.interest.rates, D('9.00'), date(2026, 6, 15), date(2026, 7, 15))
        self.assertEqual(result.total, D('4.22'))
        self.assertEqual(len(result.segments), 1)

    def test_de_unchanged_rate_is_one_segment(self):
        # base rate 1.27 on both sides of 2026-01-01: 1,000 x 10.27 % x 30/365 = 8.4410... -> 8.44
        result = interest(
            [(date(2025, 12, 16), D('1000.00'))], DE.interest.rates, D('9.00'),
            date(2025, 12, 16), date(2026, 1, 15))
        self.assertEqual(result.total, D('8.44'))
        self.assertEqual([(s.days, s.rate) for s in result.segments], [(30, D('10.27'))])

    def test_norway_all_in(self):
        # margin 0: Jun 21-30 5,000 x 12.50 % x 10/365 = 6,250/365
        #           Jul  1-10 5,000 x 12.25 % x 10/365 = 6,125/365 ; 12,375/365 = 33.9041 -> 33.90
        no = PRESETS.presets['NO']
        result = interest(
            [(date(2025, 6, 1), D('5000.00'))], no.interest.rates, no.interest.margin(False),
            date(2025, 6, 20), date(2025, 7, 10))
        self.assertEqual(result.total, D('33.90'))
        self.assertEqual([s.rate for s in result.segments], [D('12.50'), D('12.25')])

    def test_round_half_up_once(self):
        # 36.50 x 1 % x 5/365 = 0.005 exactly -> 0.01 (half up, not half even)
        rates = ReferenceRate('X', (RatePeriod(date(2026, 1, 1), D('1.00')),))
        result = interest([(date(2026, 1, 1), D('36.50'))], rates, D('0'),
                          date(2026, 1, 1), date(2026, 1, 6))
        self.assertEqual(result.total, D('0.01'))

    def test_negative_reference_rate(self):
        # -0.50 + 8.00 = 7.50 %: 10,000 x 7.50 % x 10/365 = 20.5479... -> 20.55
        rates = ReferenceRate('SE_RIKSBANK_REFERENCE', (RatePeriod(date(2019, 1, 1), D('-0.50')),))
        result = interest([(date(2019, 1, 1), D('10000.00'))], rates, D('8.00'),
                          date(2019, 3, 1), date(2019, 3, 11))
        self.assertEqual(result.total, D('20.55'))

    def test_empty_and_bad_arguments(self):
        result = interest([(date(2026, 1, 1), D('100.00'))], self.dk_rates, D('8.00'),
                          date(2026, 3, 1), date(2026, 3, 1))
        self.assertEqual((result.total, result.segments), (D('0.00'), ()))
        cases = [
            ('end', dict(end=date(2026, 2, 1))),
            ('day_count', dict(day_count='act/360')),
            ('margin', dict(margin=D('-1'))),
            ('principal_timeline[0].principal',
             dict(principal_timeline=[(date(2026, 1, 1), 100.0)])),
            ('principal_timeline', dict(principal_timeline=[(date(2026, 3, 5), D('1'))])),
        ]
        for field, change in cases:
            arguments = dict(
                principal_timeline=[(date(2026, 1, 1), D('100.00'))], rates=self.dk_rates,
                margin=D('8.00'), start=date(2026, 3, 1), end=date(2026, 3, 31))
            arguments.update(change)
            with self.subTest(field=field), self.assertRaises(RuleError) as caught:
                interest(**arguments)
            self.assertEqual(caught.exception.field, field)


class ClearingTest(unittest.TestCase):
    items = {'costs': D('50.00'), 'interest': D('20.55'), 'principal': D('1000.00')}

    def test_less_than_costs(self):
        self.assertEqual(allocate(D('30.00'), self.items), {
            'costs': D('30.00'), 'interest': D('0'), 'principal': D('0'),
            'remainder': D('0')})

    def test_costs_interest_part_principal(self):
        self.assertEqual(allocate(D('500.00'), self.items), {
            'costs': D('50.00'), 'interest': D('20.55'), 'principal': D('429.45'),
            'remainder': D('0')})

    def test_overpayment(self):
        self.assertEqual(allocate(D('1200.00'), self.items), {
            'costs': D('50.00'), 'interest': D('20.55'), 'principal': D('1000.00'),
            'remainder': D('129.45')})

    def test_other_order_and_missing_items(self):
        self.assertEqual(
            allocate(D('500.00'), self.items, order=('costs', 'principal', 'interest')),
            {'costs': D('50.00'), 'principal': D('450.00'), 'interest': D('0'),
             'remainder': D('0')})
        self.assertEqual(allocate(D('100'), {'principal': D('80')}), {
            'costs': D('0'), 'interest': D('0'), 'principal': D('80'), 'remainder': D('20')})

    def test_refused(self):
        cases = [
            ('payment', (30.0, self.items)),
            ('payment', (D('-1'), self.items)),
            ('open_items.fees', (D('1'), {'fees': D('1')})),
            ('open_items.costs', (D('1'), {'costs': D('-1')})),
            ('order', (D('1'), self.items, ('costs', 'costs', 'interest', 'principal'))),
        ]
        for field, arguments in cases:
            with self.subTest(field=field), self.assertRaises(RuleError) as caught:
                allocate(*arguments)
            self.assertEqual(caught.exception.field, field)

    invoices = [
        ('INV3', date(2026, 3, 1), D('300.00')),
        ('INV1', date(2026, 1, 15), D('100.00')),
        ('INV2', date(2026, 2, 1), D('200.00')),
    ]

    def test_invoices_oldest_due_first(self):
        result = allocate_invoices(D('250.00'), self.invoices)
        self.assertEqual(result.parts, (
            ('INV1', D('100.00')), ('INV2', D('150.00')), ('INV3', D('0'))))
        self.assertEqual(result.remainder, D('0'))

    def test_invoices_designated_first(self):
        result = allocate_invoices(D('450.00'), self.invoices, designated=['INV3'])
        self.assertEqual(result.amounts, {
            'INV3': D('300.00'), 'INV1': D('100.00'), 'INV2': D('50.00')})
        self.assertEqual(result.parts[0][0], 'INV3')

    def test_invoices_overpayment_and_ties(self):
        result = allocate_invoices(D('700.00'), self.invoices)
        self.assertEqual(result.remainder, D('100.00'))
        same_day = [('B', date(2026, 1, 1), D('10')), ('A', date(2026, 1, 1), D('10'))]
        self.assertEqual(
            allocate_invoices(D('10'), same_day).parts, (('B', D('10')), ('A', D('0'))))

    def test_invoices_refused(self):
        with self.assertRaises(RuleError) as caught:
            allocate_invoices(D('1'), self.invoices, designated=['INV9'])
        self.assertEqual(caught.exception.field, 'designated')
        with self.assertRaises(RuleError) as caught:
            allocate_invoices(D('1'), self.invoices + [('INV1', date(2026, 1, 1), D('1'))])
        self.assertEqual(caught.exception.field, 'invoices[3].key')


class InstalmentTest(unittest.TestCase):
    """Payments on an invoice of several instalments, as interest reads them."""

    instalments = [
        ('second', date(2026, 4, 15), D('500.00')),
        ('first', date(2026, 3, 16), D('500.00')),
    ]

    def test_invoice_payments_oldest_due_first(self):
        timelines = instalment_timelines(self.instalments, [
            (date(2026, 4, 20), D('400.00'), None),
            (date(2026, 3, 26), D('300.00'), None),
        ])
        self.assertEqual(timelines['first'], (
            (date(2026, 3, 16), D('500.00')), (date(2026, 3, 26), D('200.00')),
            (date(2026, 4, 20), D('0.00'))))
        self.assertEqual(timelines['second'], (
            (date(2026, 4, 15), D('500.00')), (date(2026, 4, 20), D('300.00'))))

    def test_payment_before_due_lowers_from_due_date(self):
        timelines = instalment_timelines(
            self.instalments, [(date(2026, 3, 26), D('600.00'), None)])
        self.assertEqual(timelines['first'], (
            (date(2026, 3, 16), D('500.00')), (date(2026, 3, 26), D('0.00'))))
        self.assertEqual(timelines['second'], ((date(2026, 4, 15), D('400.00')),))

    def test_reconciled_to_one_instalment(self):
        "A payment reconciled to the second instalment does not go to the first."
        timelines = instalment_timelines(self.instalments, [
            (date(2026, 4, 20), D('500.00'), 'second'),
            (date(2026, 4, 25), D('600.00'), None),
        ])
        self.assertEqual(timelines['second'], (
            (date(2026, 4, 15), D('500.00')), (date(2026, 4, 20), D('0.00'))))
        self.assertEqual(timelines['first'], (
            (date(2026, 3, 16), D('500.00')), (date(2026, 4, 25), D('0.00'))))

    def test_interest_on_each_instalment(self):
        "The timelines give each instalment its own interest."
        rates = ReferenceRate('FLAT', (RatePeriod(date(2026, 1, 1), D('8')),))
        timelines = instalment_timelines(
            self.instalments, [(date(2026, 3, 26), D('300.00'), None)])
        first = interest(timelines['first'], rates, D('0'), date(2026, 3, 16),
                         date(2026, 4, 15))
        second = interest(timelines['second'], rates, D('0'), date(2026, 4, 15),
                          date(2026, 5, 15))
        # 500 × 8 % × 9 / 365 + 200 × 8 % × 21 / 365; 500 × 8 % × 30 / 365
        self.assertEqual((first.total, second.total), (D('1.91'), D('3.29')))

    def test_refused(self):
        cases = [
            ('instalments[0].key', ([(None, date(2026, 1, 1), D('1'))], [])),
            ('instalments[2].key', (self.instalments + [('first', date(2026, 1, 1), D('1'))],
                                    [])),
            ('instalments[0].amount', ([('a', date(2026, 1, 1), 1.0)], [])),
            ('payments[0].key', (self.instalments, [(date(2026, 1, 1), D('1'), 'third')])),
            ('payments[0].amount', (self.instalments, [(date(2026, 1, 1), D('-1'), None)])),
            ('payments[0].date', (self.instalments, [('2026-01-01', D('1'), None)])),
        ]
        for field, arguments in cases:
            with self.subTest(field=field), self.assertRaises(RuleError) as caught:
                instalment_timelines(*arguments)
            self.assertEqual(caught.exception.field, field)


class PresetsTest(unittest.TestCase):

    def test_five_presets(self):
        self.assertEqual(set(PRESETS.presets), {'DK', 'DE', 'SE', 'NO', 'EU'})
        self.assertEqual(load_presets(PRESETS_PATH.read_text(encoding='utf-8')), PRESETS)

    def test_de(self):
        self.assertEqual([x.days_overdue for x in DE.levels], [7, 21, 35, 49])
        self.assertEqual([x.max_window for x in DE.levels], [3, 7, 7, 7])
        self.assertEqual([x.channels for x in DE.levels],
                         [('email',), ('email',), ('letter',), ('agency',)])
        self.assertEqual([x.name for x in DE.levels if x.notice], ['mahnung_2'])
        self.assertEqual([x.name for x in DE.levels if x.sets_default], ['mahnung_1'])
        self.assertEqual(DE.handover_level.name, 'handover')
        self.assertTrue(DE.handover_level.handover)
        self.assertEqual(len(DE.reminder_levels), 3)
        self.assertEqual(DE.caps(), Caps(None, 7, 14))
        self.assertEqual((DE.interest.reference, DE.interest.margin(False),
                          DE.interest.margin(True), DE.interest.accrues_from),
                         ('DE_BASE_RATE', D('5.00'), D('9.00'), 'default_date'))
        self.assertEqual(DE.fees.warn_above, D('2.50'))
        self.assertEqual(DE.fees.rule, 'actual_material_cost')
        self.assertTrue(DE.fees.first_default_causing_reminder_free)
        self.assertEqual(DE.b2b_compensation.amount, D('40.00'))
        self.assertTrue(DE.b2b_compensation.offsets_collection_costs)
        self.assertEqual(DE.invoice_order[:2], ('designated', 'due'))
        self.assertEqual(DE.clearing_order, ('costs', 'interest', 'principal'))
        self.assertEqual(DE.notice.min_days, 14)
        self.assertIs(DE.notice.statutory, False)

    def test_dk(self):
        self.assertEqual([x.fee for x in DK.levels], [D(0), D(100), D(100), D(100), D(0)])
        self.assertEqual(DK.fees.per_reminder_max, D('100.00'))
        self.assertEqual(DK.caps(), Caps(3, 10, 10))
        self.assertEqual([x.days_overdue for x in DK.levels], [3, 10, 20, 30, 41])
        self.assertEqual(DK.b2b_compensation.amount, D('310.00'))
        self.assertTrue(DK.b2b_compensation.cumulative_with_reminder_fees)
        self.assertEqual((DK.handover_fee.amount, DK.handover_fee.verified),
                         (D('100.00'), False))
        self.assertEqual(DK.notice.may_combine_with_level, 4)
        self.assertEqual(DK.interest.no_due_date_agreed, 'invoice_sent_plus_30')
        self.assertEqual(DK.invoice_order, ('designated', 'oldest_due'))

    def test_se_no_eu(self):
        se, no, eu = (PRESETS.presets[code] for code in ('SE', 'NO', 'EU'))
        self.assertEqual(se.b2b_fee_per_reminder, D('0.00'))
        self.assertEqual(se.caps(), Caps(1, 10, 0))
        self.assertTrue(se.b2b_compensation.replaces_fees_up_to_amount)
        self.assertEqual(no.interest.margin(True), D('0.00'))
        self.assertEqual(no.fees.earliest_fee_days_overdue, 14)
        self.assertIs(no.fees.verified, False)
        self.assertEqual(no.b2b_compensation.amount_on(date(2025, 3, 1)), D('470.00'))
        with self.assertRaises(MissingRateError):
            no.b2b_compensation.amount_on(date(2025, 8, 1))
        self.assertEqual((no.b2b_compensation.offsets_collection_costs,
                          no.b2b_compensation.offsets_collection_costs_verified), (True, False))
        self.assertEqual(no.handover_level.days_overdue, 43)
        self.assertEqual((eu.payment_term_cap_days.b2b,
                          eu.payment_term_cap_days.public_authority), (60, 30))
        self.assertTrue(eu.interest.b2c_review_required)
        self.assertEqual(eu.interest.rates.rate_on(date(2026, 2, 1)), D('2.15'))

    def test_reference_rates(self):
        base = PRESETS.reference_rates['DE_BASE_RATE'].periods
        self.assertEqual([(p.valid_from, p.rate, p.verified) for p in base], [
            (date(2025, 7, 1), D('1.27'), True), (date(2026, 1, 1), D('1.27'), True),
            (date(2026, 7, 1), None, False)])
        no = PRESETS.reference_rates['NO_LATE_INTEREST'].periods
        self.assertEqual([p.source for p in no],
                         ['FOR-2024-12-19-3279', 'FOR-2025-06-23-1321', None])
        self.assertIs(DK.interest.rates, PRESETS.reference_rates['DK_NB_LENDING'])

    def assertRefused(self, change, field, *words):
        data = json.loads(PRESETS_PATH.read_text(encoding='utf-8'))
        change(data)
        with self.assertRaises(RuleError) as caught:
            load_presets(json.dumps(data))
        self.assertEqual(caught.exception.field, field)
        for word in words:
            self.assertIn(word, str(caught.exception))

    def test_bad_data_refused(self):
        def de_level(index, key, value):
            return lambda data: data['presets']['DE']['levels'][index].__setitem__(key, value)

        self.assertRefused(
            de_level(2, 'fee', '-1.20'), 'presets.DE.levels.mahnung_2.fee',
            "level 3 'mahnung_2'", 'negative')
        self.assertRefused(
            de_level(0, 'max_window', 14), 'presets.DE.levels.zahlungserinnerung.max_window',
            "level 1 'zahlungserinnerung'", "level 2 'mahnung_1'")
        self.assertRefused(
            de_level(2, 'max_window', 14), 'presets.DE.levels.mahnung_2.max_window',
            "'handover'")
        self.assertRefused(
            de_level(1, 'days_overdue', 5), 'presets.DE.levels.mahnung_1.days_overdue')
        self.assertRefused(
            de_level(1, 'fee', '2.00'), 'presets.DE.levels.mahnung_1.fee', 'default')
        self.assertRefused(
            lambda data: data['presets']['DK']['levels'][0].__setitem__('channel', 'fax'),
            'presets.DK.levels.paamindelse.channel', "'fax'")
        self.assertRefused(
            lambda data: data['presets']['DK']['levels'][1].__setitem__('fee', '150.00'),
            'presets.DK.levels.rykker_1.fee', 'per_reminder_max')
        self.assertRefused(
            lambda data: data['presets']['DK']['fees'].__setitem__('per_reminder_max', 100),
            'presets.DK.fees.per_reminder_max', 'decimal string')
        self.assertRefused(
            lambda data: data['reference_rates']['DE_BASE_RATE'][1].__setitem__(
                'valid_from', '2026-13-01'),
            'reference_rates.DE_BASE_RATE[1].valid_from', 'not a valid date')
        self.assertRefused(
            lambda data: data['presets']['NO']['b2b_compensation']['amounts'][1].__setitem__(
                'valid_from', '2025-02-30'),
            'presets.NO.b2b_compensation.amounts[1].valid_from')
        self.assertRefused(
            lambda data: data['presets']['NO']['levels'][0].__setitem__('days_overdue', -1),
            'presets.NO.levels.purring.days_overdue', 'negative')
        self.assertRefused(
            lambda data: data['presets']['NO']['levels'][0].__setitem__('days_overdue', 10),
            'presets.NO.levels.purring.fee', '14 days')
        self.assertRefused(
            lambda data: data['presets']['SE']['fees'].__setitem__('max_fees', 1),
            'presets.SE.fees.max_fees', 'unknown field')
        self.assertRefused(
            lambda data: data['presets']['EU']['interest'].__setitem__('reference', 'ECB_DFR'),
            'presets.EU.interest.reference', 'ECB_DFR')
        self.assertRefused(
            lambda data: data['presets']['EU']['interest'].__setitem__('day_count', 'act/360'),
            'presets.EU.interest.day_count')
        self.assertRefused(
            lambda data: data['presets']['DE'].pop('handover'), 'presets.DE.handover',
            'missing')
        self.assertRefused(
            lambda data: data['presets']['DE'].__setitem__('clearing_order', ['costs']),
            'presets.DE.clearing_order')

    def test_bad_document_refused(self):
        for text, words in [
                ('{"presets": {}, "presets": {}}', 'duplicate key'),
                ('{"presets": ', 'not valid JSON'),
                ('[]', 'must be an object')]:
            with self.subTest(text=text), self.assertRaises(RuleError) as caught:
                load_presets(text)
            self.assertEqual(caught.exception.field, 'document')
            self.assertIn(words, str(caught.exception))


money = st.decimals(min_value=0, max_value=10 ** 6, places=2, allow_nan=False,
                    allow_infinity=False)


class PropertyTest(unittest.TestCase):

    @settings(max_examples=100, deadline=None)
    @given(payment=money, costs=money, interest_=money, principal=money)
    def test_allocate_conserves(self, payment, costs, interest_, principal):
        items = {'costs': costs, 'interest': interest_, 'principal': principal}
        result = allocate(payment, items)
        self.assertEqual(sum(result.values()), payment)
        before_full = True
        for key in ('costs', 'interest', 'principal'):
            self.assertTrue(0 <= result[key] <= items[key])
            if not before_full:
                self.assertEqual(result[key], 0)
            before_full = result[key] == items[key]
        if result['remainder']:
            self.assertEqual(payment - result['remainder'], costs + interest_ + principal)

    @settings(max_examples=100, deadline=None)
    @given(payment=money,
           amounts=st.lists(st.tuples(st.integers(0, 400), money), max_size=6))
    def test_allocate_invoices_conserves(self, payment, amounts):
        invoices = [(index, date(2026, 1, 1) + timedelta(days=offset), amount)
                    for index, (offset, amount) in enumerate(amounts)]
        result = allocate_invoices(payment, invoices)
        self.assertEqual(sum(part for _, part in result.parts) + result.remainder, payment)
        dues = [invoices[key][1] for key, _ in result.parts]
        self.assertEqual(dues, sorted(dues))

    @settings(max_examples=100, deadline=None)
    @given(code=st.sampled_from(sorted(PRESETS.presets)),
           skipped=st.sets(st.integers(0, 75), max_size=60))
    def test_dunning_invariants(self, code, skipped):
        # a daily run with random days off (outages, weekends)
        preset = PRESETS.presets[code]
        caps = preset.caps()
        due = date(2026, 3, 2)
        _, history = simulate(preset, due, [d for d in range(76) if d not in skipped])
        by_sequence = {x.sequence: x for x in preset.levels}
        sequences = [r.level_sequence for r in history]
        self.assertEqual(sequences, sorted(set(sequences)))
        self.assertEqual(len({r.date for r in history}), len(history))
        fees = [r for r in history if r.fee > 0]
        if caps.max_fee_reminders is not None:
            self.assertLessEqual(len(fees), caps.max_fee_reminders)
        for a, b in zip(fees, fees[1:]):
            self.assertGreaterEqual((b.date - a.date).days, caps.min_spacing_days)
        for reminder in history:
            rule = by_sequence[reminder.level_sequence]
            self.assertTrue(rule.covers((reminder.date - due).days))
            self.assertLessEqual(reminder.fee, rule.fee)
            if rule.handover:
                notice = [r for r in history if by_sequence[r.level_sequence].notice]
                self.assertGreaterEqual(
                    (reminder.date - notice[-1].date).days, caps.notice_min_days)

    @settings(max_examples=100, deadline=None)
    @given(principal=money, days=st.integers(0, 800),
           rate=st.decimals(min_value=-1, max_value=20, places=2),
           split=st.integers(1, 799))
    def test_interest_exact(self, principal, days, rate, split):
        rates = ReferenceRate('X', (RatePeriod(date(2020, 1, 1), rate),))
        start = date(2024, 1, 1)
        end = start + timedelta(days=days)
        timeline = [(start, principal)]
        result = interest(timeline, rates, D('8.00'), start, end)
        exact = Fraction(principal) * Fraction(rate + 8) * days / 36500
        cents = math.floor(abs(exact) * 100 + Fraction(1, 2))
        self.assertEqual(result.total, D(cents if exact >= 0 else -cents) / 100)
        # a principal "change" to the same amount splits nothing that matters
        timeline.append((start + timedelta(days=split), principal))
        self.assertEqual(interest(timeline, rates, D('8.00'), start, end).total, result.total)


if __name__ == '__main__':
    unittest.main()
