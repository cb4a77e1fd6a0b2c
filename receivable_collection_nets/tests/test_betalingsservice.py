"""Tests of the Nets Betalingsservice codec (plain Python, no Tryton)."""
import dataclasses
import io
import unittest
from datetime import date, datetime
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from receivable_collection_nets.betalingsservice import (
    LS_OPTIONS,
    RECORDS,
    SLIPS,
    CardCollection,
    CardText,
    Collection,
    CollectionOrder,
    CreditorSection,
    Debtor,
    DebtorAddress,
    DebtorIdentity,
    DebtorPostcode,
    DeliveryEnd,
    DeliveryStart,
    ExportError,
    FormatError,
    MandateEvent,
    NotificationText,
    OcrCardCollection,
    Options,
    PaymentEvent,
    ReplySectionEnd,
    ReplySectionStart,
    SectionEnd,
    SectionStart,
    SlipAddress,
    SlipPayment,
    SlipText,
    add_banking_days,
    build_0601,
    check_payment_id,
    detect_system,
    fit_text_lines,
    format_ocr_line,
    layout_0601,
    make_payment_id,
    mod10_check_digit,
    normalise_customer_number,
    ore_to_amount,
    parse,
    parse_0602,
    parse_0603,
    parse_ocr_line,
    parse_record,
    render,
    render_record,
    replacement_deadline,
    split_payment_id,
    to_latin1,
    with_totals,
)
from receivable_collection_nets.betalingsservice.layout import field_specs

SETTINGS = settings(max_examples=50, deadline=None, database=None)
D = Decimal


def blanks(text):
    """Spec notation: '·' stands for a blank."""
    return text.replace('·', ' ')


# Spec section 2.9, copied from the spec ('·' = blank).
SPEC_2_9 = [blanks(line) for line in (
    'BS00212345678BS106010000000042···················150126·······························'
    '··········································',
    'BS012012345670112·····00001TRYTON-DK··········1501202612340001234567Kontingent·februar'
    '·2026·····································',
    'BS042012345670280000000000110004··········0005122040102202610000000049500INV/2026/0001'
    '·················00·······················',
    'BS052012345670241000010000110004··········000512204·Faktura·INV/2026/0001·············'
    '··········································',
    'BS0920123456701120000000001····0000000000300000000016455000000000004···············000'
    '00000000··································',
    'BS99212345678BS106010000000000200000000005000000000184550000000000060000000000000000000'
    '00000000000000000000000000000000000000000',
)]


def example_sections():
    """The worked example's delivery: section 1 as in the spec, section 2 made to fit."""
    s1 = CreditorSection(
        '01234567', 1, (
            CollectionOrder('10004', date(2026, 2, 1), D('495.00'), '000512204',
                            'INV/2026/0001',
                            texts=('Faktura INV/2026/0001', 'Forfald 1. februar 2026')),
            CollectionOrder('10005', date(2026, 2, 1), D('1250.50'), '000512205',
                            'INV/2026/0002', texts=('Faktura INV/2026/0002',)),
            CollectionOrder('10006', date(2026, 2, 1), D('-100.00'), '000512206',
                            'CN/2026/0001', texts=('Kreditnota CN/2026/0001',)),
        ),
        creditor_id='TRYTON-DK', bank_reg='1234', bank_account='0001234567',
        main_text='Kontingent februar 2026')
    s2 = CreditorSection(
        '01234567', 2, (
            CollectionOrder('20001', date(2026, 2, 1), D('150.00'), '000600001',
                            'INV/2026/0003', texts=('Faktura INV/2026/0003',)),
            CollectionOrder('20002', date(2026, 2, 1), D('50.00'), '000600002',
                            'INV/2026/0004', texts=('Faktura INV/2026/0004',)),
        ),
        creditor_id='TRYTON-DK', bank_reg='1234', bank_account='0001234567',
        main_text='Kontingent februar 2026')
    return [s1, s2]


def example_file(**kw):
    return build_0601('12345678', 42, example_sections(), created=date(2026, 1, 15), **kw)


def lines_of(data):
    return data.decode('latin-1').split('\r\n')[:-1]


def join(lines):
    return ('\r\n'.join(lines) + '\r\n').encode('latin-1')


def put(line, pos, value):
    """Overwrite a 1-based position of a line."""
    return line[:pos - 1] + value + line[pos - 1 + len(value):]


def rendered(function, *args, **kw):
    """Call a rendering function; skip examples whose text would read back as UTF-8."""
    try:
        return function(*args, **kw)
    except FormatError as error:
        assume('UTF-8' not in error.message)
        raise


def rec(*parts):
    line = ''.join(parts)
    assert len(line) == 128, (len(line), line)
    return line


# --- hand-written reply files, following the spec tables directly ----------------------

def reply_0602(section_total='000000000099000', delivery_total='000000000111000'):
    cust = '10004'.rjust(15, '0')
    slip_cust = 'C-1001'.rjust(15, '0')
    archive = 'ARK20260215000000001'.ljust(22)
    return [
        rec('BS002', '12345678', 'BS1', '0602', '0000001234', ' ' * 19, '020226', ' ' * 73),
        rec('BS012', '01234567', '0211', '000', '00001', 'TRYTON-DK'.ljust(15), ' ' * 9,
            '020226', ' ' * 73),
        rec('BS042', '01234567', '0236', '000', '00001', cust, '000512204', '010226', '1',
            '0000000049500', 'INV/2026/0001'.ljust(30), ' ' * 4, '010226', '020226',
            '0000000049500'),
        rec('BS042', '01234567', '0237', '000', '00001', '10005'.rjust(15, '0'), '000512205',
            '010226', '1', '0000000125050', 'INV/2026/0002'.ljust(30), ' ' * 4, '000000',
            '000000', '0000000000000'),
        rec('BS042', '01234567', '0238', '000', '00001', '10006'.rjust(15, '0'), '000512206',
            '010226', '1', '0000000010000', ' ' * 30, ' ' * 4, '000000', '000000',
            '0000000000000'),
        rec('BS042', '01234567', '0239', '000', '00001', cust, '000512204', '010126', '1',
            '0000000049500', 'INV/2025/0999'.ljust(29, '-') + 'Z', ' ' * 4, '280126', '290126',
            '0000000049500'),
        rec('BS092', '01234567', '0211', '000', '00001', ' ' * 6, '00000000004',
            section_total, '00000000000', ' ' * 15, '00000000000', ' ' * 34),
        rec('BS012', '01234567', '0215', '000', '00001', 'TRYTON-DK'.ljust(15), ' ' * 9,
            '020226', ' ' * 73),
        rec('BS042', '01234567', '0297', '000', '00001', '0000', slip_cust, '71', '0', '00000',
            '150226', '1', '0000000012500', 'INV000123', archive, '160226', '170226',
            '0000000012000'),
        rec('BS052', '01234567', '0295', '001', '00001', '0000', slip_cust, '71', archive,
            'Betaling for februar'.ljust(35), ' ' * 25),
        rec('BS092', '01234567', '0215', '000', '00001', ' ' * 6, '00000000001',
            '000000000012000', '00000000001', ' ' * 15, '00000000000', ' ' * 34),
        rec('BS992', '12345678', 'BS1', '0602', '00000000002', '00000000005', delivery_total,
            '00000000001', '0' * 15, '00000000000', '0' * 34),
    ]


def reply_0603():
    return [
        rec('BS002', '12345678', 'BS1', '0603', '0000000077', ' ' * 19, '030226', ' ' * 73),
        rec('BS012', '01234567', '0212', '   ', '00001', 'TRYTON-DK'.ljust(15), ' ' * 9,
            '030226', ' ' * 73),
        rec('BS042', '01234567', '0231', '000', '00001', '10004'.rjust(15, '0'), '000512204',
            '010326', '000000', ' ' * 67),
        rec('BS042', '01234567', '0233', '000', '00001', '10005'.rjust(15, '0'), '000512205',
            '010125', '280226', ' ' * 67),
        rec('BS092', '01234567', '0212', '000', '00001', ' ' * 6, '00000000002', '0' * 15,
            '0' * 11, ' ' * 15, '0' * 11, ' ' * 34),
        rec('BS012', '01234567', '0210', '   ', '00001', 'TRYTON-DK'.ljust(15), ' ' * 9,
            '030226', ' ' * 73),
        rec('BS042', '01234567', '0230', '000', '00001', '10007'.rjust(15, '0'), '999999999',
            '150625', '000000', ' ' * 67),
        rec('BS092', '01234567', '0210', '000', '00001', ' ' * 6, '00000000001', '0' * 15,
            '0' * 11, ' ' * 15, '0' * 11, ' ' * 34),
        rec('BS992', '12345678', 'BS1', '0603', '00000000002', '00000000003', '0' * 15,
            '0' * 11, '0' * 15, '0' * 11, '0' * 34),
    ]


class WorkedExampleTest(unittest.TestCase):
    """Spec section 2.9 reproduced byte for byte."""

    def test_spec_lines_are_128_characters(self):
        self.assertEqual([len(line) for line in SPEC_2_9], [128] * 6)

    def test_builder_reproduces_example(self):
        data = example_file()
        lines = lines_of(data)
        self.assertEqual(len(lines), 17)
        self.assertEqual(lines[0], SPEC_2_9[0])
        self.assertEqual(lines[1], SPEC_2_9[1])
        self.assertEqual(lines[2], SPEC_2_9[2])
        self.assertEqual(lines[3], SPEC_2_9[3])
        self.assertEqual(lines[9], SPEC_2_9[4])     # section end of section 1
        self.assertEqual(lines[16], SPEC_2_9[5])    # delivery end
        self.assertEqual(data[:len(SPEC_2_9[0]) + 2], SPEC_2_9[0].encode('ascii') + b'\r\n')
        self.assertTrue(data.endswith(SPEC_2_9[5].encode('ascii') + b'\r\n'))
        self.assertEqual(len(data), 17 * 130)

    def test_example_lines_parse_to_values(self):
        collection = parse_record(SPEC_2_9[2])
        self.assertEqual(collection, Collection(
            '01234567', '0280', 1, '10004', '000512204', date(2026, 2, 1), 1, D('495.00'),
            'INV/2026/0001'))
        end = parse_record(SPEC_2_9[4])
        self.assertEqual(end, SectionEnd('01234567', '0112', 1, 3, D('1645.50'), 4, 0))
        delivery_end = parse_record(SPEC_2_9[5])
        self.assertEqual(delivery_end, DeliveryEnd('12345678', 'BS1', '0601', 2, 5,
                                                   D('1845.50'), 6, 0))
        for line in SPEC_2_9:
            self.assertEqual(render_record(parse_record(line)), line)

    def test_parse_whole_example(self):
        records = list(parse(example_file()))
        self.assertEqual(len(records), 17)
        self.assertIsInstance(records[0], DeliveryStart)
        self.assertEqual(records[0].delivery_id, 42)
        self.assertEqual(records[0].created, date(2026, 1, 15))
        self.assertEqual([type(r).__name__ for r in records[1:5]],
                         ['SectionStart', 'Collection', 'NotificationText', 'NotificationText'])
        payout = records[7]
        self.assertEqual((payout.sign_code, payout.amount), (2, D('100.00')))


class RecordTest(unittest.TestCase):
    """One test per record type: exact rendering and parsed values."""

    def check(self, record, expected, delivery_type='0601', options=None):
        options = options or Options()
        expected = blanks(expected)
        self.assertEqual(len(expected), 128)
        self.assertEqual(render_record(record, options=options), expected)
        self.assertEqual(
            parse_record(expected, delivery_type=delivery_type, options=options), record)

    def test_delivery_start(self):
        self.check(DeliveryStart('12345678', 'BS1', '0601', 42, None),
                   'BS00212345678BS106010000000042' + '·' * 19 + '000000' + '·' * 73)

    def test_section_start_0117_zero_account(self):
        self.check(SectionStart('01234567', '0117', 3, 'X', date(2026, 1, 5), '0000',
                                '0000000000', ''),
                   'BS012012345670117·····00003X' + '·' * 14 + '····' + '05012026'
                   + '0' * 14 + '·' * 60)

    def test_debtor_address(self):
        self.check(DebtorAddress('01234567', 2, 1, '10004', 'Søndergade 1'.ljust(34, '.') + 'Z'),
                   'BS0220123456702400000200001' + '10004'.ljust(15) + '0' * 9
                   + 'Søndergade 1'.ljust(34, '.') + 'Z' + '·' * 42)

    def test_debtor_postcode(self):
        self.check(DebtorPostcode('01234567', 1, '10004', '8000', 'DK'),
                   'BS0220123456702400000900001' + '10004'.ljust(15) + '0' * 9 + '·' * 15
                   + '8000DK·' + '·' * 55)

    def test_debtor_identity(self):
        self.check(DebtorIdentity('01234567', 1, '10004', '1234567890'),
                   'BS0220123456702400001000001' + '10004'.ljust(15) + '·' * 40
                   + '1234567890' + '·' * 36)

    def test_replacement_collection_0283(self):
        # full-width customer number and reference: a shifted field boundary shows
        self.check(Collection('01234567', '0283', 1, 'ABCDEFGHIJKLMN7', '000000001',
                              date(2026, 3, 1), 0, D('0'), 'R' * 29 + 'Z'),
                   'BS042012345670283000000000' + '1ABCDEFGHIJKLMN7' + '000000001' + '01032026'
                   + '0' + '0' * 13 + 'R' * 29 + 'Z' + '00' + '·' * 23)

    def test_collection_with_payer_id_option_c2(self):
        options = Options(payer_id_in_0280=True)
        self.check(Collection('01234567', '0280', 1, 'A', '000000001', date(2026, 3, 1), 1,
                              D('1.00'), 'R', '001001202601230'),
                   'BS042012345670280000000000' + '1A' + '·' * 14 + '000000001' + '01032026'
                   + '1' + '0' * 10 + '100' + 'R' + '·' * 29 + '00' + '001001202601230'
                   + '0' * 8, options=options)
        with self.assertRaises(FormatError) as cm:
            render_record(Collection('01234567', '0280', 1, 'A', '000000001',
                                     date(2026, 3, 1), 1, D('1.00'), 'R', '001001202601230'))
        self.assertEqual(cm.exception.field, 'payer id')

    def test_card_collection_0285(self):
        self.check(CardCollection('01234567', 1, 'A' * 15, date(2026, 3, 1), 1, D('12.34'),
                                  'INV123456'),
                   'BS042012345670285000000000' + '1' + 'A' * 15 + '0' * 9 + '01032026'
                   + '1' + '0' * 9 + '1234' + 'INV123456' + '·' * 21 + '00' + '·' * 23)

    def test_ocr_card_collection_0286(self):
        self.check(OcrCardCollection('01234567', 1, 'A', date(2026, 3, 1), 1, D('12.34'),
                                     'INV1', '0001001202601230'),
                   'BS042012345670286000000000' + '1A' + '·' * 14 + '0' * 9 + '01032026'
                   + '1' + '0' * 9 + '1234' + 'INV1·····' + '0001001202601230' + '·' * 30)

    def test_notification_text_052(self):
        self.check(NotificationText('01234567', 12, 1, 'A' * 15, '000512204', 'T' * 59 + 'Z'),
                   'BS052012345670241000120000' + '1' + 'A' * 15 + '000512204' + '·'
                   + 'T' * 59 + 'Z' + '·' * 16)

    def test_card_text_062(self):
        self.check(CardText('01234567', 1, 1, 'A', '0' * 9, 'Tilmeld Betalingsservice'),
                   'BS062012345670241000010000' + '1A' + '·' * 14 + '0' * 9 + '·'
                   + 'Tilmeld Betalingsservice'.ljust(60) + '·' * 16)

    def test_0602_payment_event(self):
        line = reply_0602()[2]
        record = parse_record(line, delivery_type='0602')
        self.assertEqual(record, PaymentEvent(
            '01234567', '0236', 1, '000000000010004', '000512204', date(2026, 2, 1), 1,
            D('495.00'), 'INV/2026/0001', date(2026, 2, 1), date(2026, 2, 2), D('495.00')))
        self.assertEqual(render_record(record), line)

    def test_0602_slip_payment_and_text(self):
        lines = reply_0602()
        slip = parse_record(lines[8], delivery_type='0602')
        self.assertIsInstance(slip, SlipPayment)
        self.assertEqual((slip.customer_number, slip.slip_type, slip.slip_date, slip.amount,
                          slip.paid_amount, slip.reference, slip.archive_reference),
                         ('000000000C-1001', '71', date(2026, 2, 15), D('125.00'),
                          D('120.00'), 'INV000123', 'ARK20260215000000001'))
        text = parse_record(lines[9], delivery_type='0602')
        self.assertEqual(text, SlipText('01234567', 1, 1, '000000000C-1001', '71',
                                        'ARK20260215000000001', 'Betaling for februar'))
        self.assertEqual(render_record(slip), lines[8])
        self.assertEqual(render_record(text), lines[9])

    def test_0602_slip_address(self):
        record = SlipAddress('01234567', 2, 1, '', '73', 'ARK1', 'Vestergade 2')
        line = render_record(record)
        self.assertEqual(line[13:17], '0290')
        self.assertEqual(line[68:103].rstrip(), 'Vestergade 2')
        self.assertEqual(parse_record(line, delivery_type='0602'), record)

    def test_0603_mandate_event(self):
        lines = reply_0603()
        record = parse_record(lines[3], delivery_type='0603')
        self.assertEqual(record, MandateEvent('01234567', '0233', 1, '000000000010005',
                                              '000512205', date(2025, 1, 1),
                                              date(2026, 2, 28)))
        start = parse_record(lines[1], delivery_type='0603')
        self.assertEqual(start, ReplySectionStart('01234567', '0212', 1, 'TRYTON-DK',
                                                  date(2026, 2, 3)))

    def test_reply_section_end(self):
        record = parse_record(reply_0602()[6], delivery_type='0602')
        self.assertEqual(record, ReplySectionEnd('01234567', '0211', 1, 4, D('990.00'), 0, 0))

    def test_render_refuses_bad_values(self):
        cases = [
            (dataclasses.replace(parse_record(SPEC_2_9[2]), amount=1.5), 'amount'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), amount=D('1.005')), 'amount'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), amount=D('-1')), 'amount'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), amount=D('1E11')), 'amount'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), pbs_number='1234567'),
             'PBS number'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), reference='x' * 31), 'reference'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), reference='€'), 'reference'),
            (dataclasses.replace(parse_record(SPEC_2_9[2]), sign_code=3), 'sign code'),
        ]
        for record, field in cases:
            with self.subTest(field=field), self.assertRaises(FormatError) as cm:
                render_record(record, line=3)
            self.assertEqual((cm.exception.line, cm.exception.field), (3, field))

    def test_amount_is_exact_decimal(self):
        record = parse_record(put(SPEC_2_9[2], 61, '9999999999999'))
        self.assertEqual(record.amount, D('99999999999.99'))
        self.assertIsInstance(record.amount, Decimal)
        self.assertEqual(ore_to_amount(1), D('0.01'))


class BrokenFileTest(unittest.TestCase):
    """Each broken file names the line, the field and the position."""

    def assertError(self, data, line, field, position=None, text=None, **kw):
        with self.assertRaises(FormatError) as cm:
            list(parse(data, **kw))
        error = cm.exception
        self.assertEqual((error.line, error.field), (line, field), str(error))
        if position is not None:
            self.assertEqual(error.position, position, str(error))
        if text is not None:
            self.assertIn(text, str(error))
        return error

    def setUp(self):
        self.lines = lines_of(example_file())

    def test_valid_file_parses(self):
        self.assertEqual(len(list(parse(join(self.lines)))), 17)

    def test_bad_length_long_line(self):
        self.lines[2] = self.lines[2] + 'X'
        error = self.assertError(join(self.lines), 3, 'record length')
        self.assertIn('129 characters', error.message)

    def test_bad_length_short_line_when_padding_is_off(self):
        self.lines[3] = self.lines[3].rstrip()
        self.assertError(join(self.lines), 4, 'record length',
                         options=Options(pad_short_lines=False))
        # C4 default: trailing blanks stripped and LF-only endings are accepted
        data = '\n'.join(line.rstrip() for line in self.lines).encode('latin-1')
        self.assertEqual(list(parse(data)), list(parse(join(self.lines))))

    def test_empty_line_inside_delivery(self):
        self.lines.insert(5, '')
        self.assertError(join(self.lines), 6, 'record length', text='empty line')

    def test_bad_section_total_count(self):
        self.lines[9] = put(self.lines[9], 32, '00000000004')
        self.assertError(join(self.lines), 10, 'collection count', (32, 42),
                         'section end says 4, the section has 3')

    def test_bad_section_total_amount(self):
        self.lines[9] = put(self.lines[9], 43, '000000000164551')
        self.assertError(join(self.lines), 10, 'net amount', (43, 57), '1645.50')

    def test_bad_delivery_total(self):
        self.lines[16] = put(self.lines[16], 58, '00000000007')
        self.assertError(join(self.lines), 17, 'text count', (58, 68))

    def test_render_refuses_hand_written_totals(self):
        records = list(parse(join(self.lines)))
        records[9] = dataclasses.replace(records[9], net_amount=D('1.00'))
        with self.assertRaises(FormatError) as cm:
            render(records)
        self.assertEqual((cm.exception.line, cm.exception.field), (10, 'net amount'))

    def test_wrong_encoding_utf8(self):
        self.lines[3] = put(self.lines[3], 53, 'Søren Ærø'.ljust(60))
        data = join(self.lines).decode('latin-1').encode('utf-8')
        error = self.assertError(data, 4, 'text', (54, 54))
        self.assertIn('UTF-8', error.message)
        # the same text in ISO-8859-1 is fine
        records = list(parse(join(self.lines)))
        self.assertEqual(records[3].text, 'Søren Ærø')

    def test_utf8_lookalike_is_refused_both_ways(self):
        record = dataclasses.replace(parse_record(SPEC_2_9[3]), text='SÃ¸ren')
        with self.assertRaises(FormatError) as cm:
            render_record(record, line=4)
        self.assertEqual((cm.exception.line, cm.exception.field), (4, 'text'))
        line = render_record(record, options=Options(reject_utf8=False))
        self.lines[3] = line
        self.assertError(join(self.lines), 4, 'text', (54, 54), 'UTF-8')
        records = list(parse(join(self.lines), options=Options(reject_utf8=False)))
        self.assertEqual(records[3].text, 'SÃ¸ren')

    def test_wrong_encoding_control_character(self):
        self.lines[2] = put(self.lines[2], 80, '\x07')
        error = self.assertError(join(self.lines), 3, 'reference', (80, 80))
        self.assertIn('control character', error.message)

    def test_wrong_encoding_bom(self):
        data = b'\xef\xbb\xbf' + join(self.lines)
        self.assertError(data, 1, 'encoding', (1, 3))

    def test_wrong_encoding_not_latin1_text_input(self):
        self.lines[3] = put(self.lines[3], 60, '€')
        self.assertError(self.lines, 4, 'text', (60, 60), 'not ISO-8859-1')

    def test_unknown_record_type(self):
        self.lines[3] = put(self.lines[3], 1, 'BS032')
        self.assertError(join(self.lines), 4, 'record type', (1, 5), "'BS032'")

    def test_unknown_transaction_code(self):
        self.lines[2] = put(self.lines[2], 14, '0281')
        self.assertError(join(self.lines), 3, 'transaction code', (14, 17))

    def test_transaction_not_allowed_in_section(self):
        self.lines[2] = put(self.lines[2], 14, '0283')
        self.assertError(join(self.lines), 3, 'transaction code', (14, 17), 'section 0112')

    def test_truncated_missing_delivery_end(self):
        error = self.assertError(join(self.lines[:-1]), 17, 'record type', (1, 5))
        self.assertIn('missing delivery end', error.message)

    def test_truncated_missing_section_end(self):
        error = self.assertError(join(self.lines[:15]), 16, 'record type')
        self.assertIn('missing section end', error.message)

    def test_truncated_inside_delivery_section_start_without_end(self):
        del self.lines[9]   # section end of section 1
        error = self.assertError(join(self.lines), 10, 'record type')
        self.assertIn('missing section end', error.message)

    def test_out_of_order_collection_before_section_start(self):
        self.lines[1], self.lines[2] = self.lines[2], self.lines[1]
        error = self.assertError(join(self.lines), 2, 'record type', (1, 5))
        self.assertIn('outside a section', error.message)

    def test_out_of_order_text_before_collection(self):
        self.lines[2], self.lines[3] = self.lines[3], self.lines[2]
        error = self.assertError(join(self.lines), 3, 'record type')
        self.assertIn('without a preceding collection', error.message)

    def test_out_of_order_record_after_delivery_end(self):
        self.lines.append(self.lines[2])
        self.assertError(join(self.lines), 18, 'record type', text='after the delivery end')

    def test_first_record_not_delivery_start(self):
        self.assertError(join(self.lines[1:]), 1, 'record type', text='must begin')

    def test_bad_numeric(self):
        self.lines[2] = put(self.lines[2], 65, 'x')
        error = self.assertError(join(self.lines), 3, 'amount', (61, 73))
        self.assertEqual(str(error), "line 3, amount (pos 061-073): not numeric: "
                         "'0000x00049500'")

    def test_bad_numeric_superscript_digit(self):
        self.lines[2] = put(self.lines[2], 65, '²')
        self.assertError(join(self.lines), 3, 'amount', (61, 73), 'not numeric')

    def test_bad_date(self):
        self.lines[2] = put(self.lines[2], 52, '31022026')
        self.assertError(join(self.lines), 3, 'payment date', (52, 59), "'31022026'")

    def test_missing_required_date(self):
        self.lines[2] = put(self.lines[2], 52, '00000000')
        self.assertError(join(self.lines), 3, 'payment date', (52, 59), 'missing date')

    def test_bad_filler(self):
        self.lines[2] = put(self.lines[2], 104, '01')
        self.assertError(join(self.lines), 3, 'filler', (104, 105))

    def test_text_numbering(self):
        self.lines[4] = put(self.lines[4], 18, '00003')
        self.assertError(join(self.lines), 5, 'line number', (18, 22), 'expected 00002')

    def test_duplicate_text_number_c9(self):
        self.lines[4] = put(self.lines[4], 18, '00001')
        self.assertEqual(len(list(parse(join(self.lines)))), 17)
        self.assertError(join(self.lines), 5, 'line number',
                         options=Options(duplicate_text_numbers=False))

    def test_text_for_other_customer(self):
        self.lines[3] = put(self.lines[3], 28, '99999')
        self.assertError(join(self.lines), 4, 'customer number', (28, 42))

    def test_wrong_debtor_group(self):
        self.lines[2] = put(self.lines[2], 23, '00002')
        self.assertError(join(self.lines), 3, 'debtor group', (23, 27))

    def test_wrong_delivery_type_expected(self):
        self.assertError(join(self.lines), 1, 'delivery type', delivery_type='0602')

    def test_error_in_0602_names_field(self):
        lines = reply_0602()
        lines[2] = put(lines[2], 120, 'x')
        with self.assertRaises(FormatError) as cm:
            parse_0602(join(lines))
        self.assertEqual(str(cm.exception),
                         "line 3, paid amount (pos 116-128): not numeric: '0000x00049500'")
        lines = reply_0602()
        lines[2] = put(lines[2], 50, '310226')
        with self.assertRaises(FormatError) as cm:
            parse_0602(join(lines))
        self.assertEqual((cm.exception.line, cm.exception.field), (3, 'payment date'))

    def test_reply_count_mismatch_is_strict(self):
        lines = reply_0602()
        lines[6] = put(lines[6], 32, '00000000003')
        with self.assertRaises(FormatError) as cm:
            parse_0602(join(lines))
        self.assertEqual((cm.exception.line, cm.exception.field), (7, 'collection count'))


class RepliesTest(unittest.TestCase):
    """0602 and 0603 read into structured results."""

    def test_parse_0602(self):
        result = parse_0602(join(reply_0602()))
        self.assertEqual(result.key, ('12345678', '0602', 1234, date(2026, 2, 2)))
        self.assertEqual([s.section for s in result.sections], ['0211', '0215'])
        self.assertEqual(result.warnings, ())
        payments = result.payments
        self.assertEqual([(p.transaction_code, p.status) for p in payments], [
            ('0236', 'completed'), ('0237', 'rejected'), ('0238', 'cancelled'),
            ('0239', 'reversed'), ('0297', 'completed')])
        first = payments[0]
        self.assertEqual((first.customer_number, first.raw_customer_number, first.mandate_number,
                          first.amount, first.paid_amount, first.payment_date,
                          first.value_date, first.reference, first.line),
                         ('10004', '000000000010004', '000512204', D('495.00'), D('495.00'),
                          date(2026, 2, 1), date(2026, 2, 2), 'INV/2026/0001', 3))
        self.assertEqual(first.key, ('01234567', 1, '10004', '000512204', date(2026, 2, 1),
                                     '0236'))
        self.assertEqual(payments[3].reference, 'INV/2025/0999'.ljust(29, '-') + 'Z')
        self.assertEqual(payments[3].actual_date, date(2026, 1, 28))
        rejected = payments[1]
        self.assertEqual((rejected.meaning, rejected.paid_amount, rejected.actual_date),
                         ('rejected by debtor', D('0.00'), None))
        self.assertIn('mandate cancelled', payments[2].meaning)
        self.assertIn('charged back', payments[3].meaning)
        slip = payments[4]
        self.assertEqual((slip.customer_number, slip.slip_type, slip.amount, slip.paid_amount,
                          slip.free_text, slip.mandate_number),
                         ('C-1001', '71', D('125.00'), D('120.00'),
                          ('Betaling for februar',), ''))

    def test_0602_c6_either_total_is_accepted(self):
        # guide examples: sum of 057-069 (collection amounts); 2340.50 + 125.00 in all
        result = parse_0602(join(reply_0602('000000000234050', '000000000246550')))
        self.assertEqual(result.warnings, ())

    def test_0602_c6_other_total_warns_or_raises(self):
        data = join(reply_0602('000000000000001', '000000000111000'))
        result = parse_0602(data)
        self.assertEqual(len(result.warnings), 1)
        self.assertEqual((result.warnings[0].line, result.warnings[0].field), (7, 'total'))
        with self.assertRaises(FormatError) as cm:
            parse_0602(data, options=Options(reply_total_check='strict'))
        self.assertEqual((cm.exception.line, cm.exception.field), (7, 'total'))
        self.assertEqual(parse_0602(data, options=Options(reply_total_check='ignore')).warnings,
                         ())

    def test_0602_lf_and_stripped_lines_c4(self):
        data = '\n'.join(line.rstrip() for line in reply_0602()).encode('latin-1')
        self.assertEqual(parse_0602(data).payments, parse_0602(join(reply_0602())).payments)

    def test_0603_c8_filler_blanks_or_zeros(self):
        result = parse_0603(join(reply_0603()))
        self.assertEqual(result.key, ('12345678', '0603', 77, date(2026, 2, 3)))
        self.assertEqual([(m.transaction_code, m.status) for m in result.mandates],
                         [('0231', 'registered'), ('0233', 'cancelled'), ('0230', 'active')])
        new, ended, card = result.mandates
        self.assertEqual((new.customer_number, new.mandate_number, new.start_date,
                          new.end_date), ('10004', '000512204', date(2026, 3, 1), None))
        self.assertEqual(ended.end_date, date(2026, 2, 28))
        self.assertEqual(ended.meaning, 'mandate cancelled by the creditor')
        self.assertTrue(card.is_card_agreement)
        self.assertFalse(new.is_card_agreement)
        self.assertEqual(parse_0603(join(reply_0603()),
                                    options=Options(strict_reply_fillers=True)), result)
        lines = reply_0603()
        lines[2] = put(lines[2], 100, 'X')
        self.assertEqual(len(parse_0603(join(lines)).mandates), 3)
        with self.assertRaises(FormatError) as cm:
            parse_0603(join(lines), options=Options(strict_reply_fillers=True))
        self.assertEqual((cm.exception.line, cm.exception.field, cm.exception.position),
                         (3, 'filler', (62, 128)))

    def test_0603_bad_end_date(self):
        lines = reply_0603()
        lines[3] = put(lines[3], 56, '300226')
        with self.assertRaises(FormatError) as cm:
            parse_0603(join(lines))
        self.assertEqual((cm.exception.line, cm.exception.field, cm.exception.position),
                         (4, 'end date', (56, 61)))

    def test_0603_transaction_not_in_section(self):
        lines = reply_0603()
        lines[6] = put(lines[6], 14, '0231')
        with self.assertRaises(FormatError) as cm:
            parse_0603(join(lines))
        self.assertEqual((cm.exception.line, cm.exception.field), (7, 'transaction code'))

    def test_normalise_customer_number(self):
        self.assertEqual(normalise_customer_number('000000000C-1001'), 'C-1001')
        self.assertEqual(normalise_customer_number('C-1001         '), 'C-1001')


class StreamingAndDialectTest(unittest.TestCase):
    """Input forms, trailing lines, with_totals guards and the LS dialect hook."""

    def test_parse_accepts_line_iterables(self):
        data = example_file()
        expected = list(parse(data))
        self.assertEqual(list(parse(io.BytesIO(data))), expected)
        self.assertEqual(list(parse(data.decode('latin-1').splitlines())), expected)
        self.assertEqual(list(parse(data + b'\r\n')), expected)

    def test_parse_is_lazy(self):
        lines = lines_of(example_file())
        lines[11] = put(lines[11], 61, 'x')     # amount of the first collection of section 2
        records = parse(join(lines))
        first = [next(records) for _ in range(11)]
        self.assertIsInstance(first[0], DeliveryStart)
        self.assertIsInstance(first[10], SectionStart)
        with self.assertRaises(FormatError) as cm:
            next(records)
        self.assertEqual((cm.exception.line, cm.exception.field), (12, 'amount'))

    def test_with_totals_refuses_hand_written_ends(self):
        records = list(parse(example_file()))
        with self.assertRaises(ValueError):
            list(with_totals(records))
        body = [r for r in records if not isinstance(r, (SectionEnd, DeliveryEnd))]
        self.assertEqual(list(with_totals(body)), records)

    def test_leverandorservice_dialect_hook(self):
        record = DeliveryStart('12345678', 'LS1', '0602', 1, date(2026, 2, 3))
        line = render_record(record, options=LS_OPTIONS)
        self.assertEqual(line[:5], 'LS002')
        self.assertEqual(line[49:55], '260203')
        self.assertEqual(parse_record(line, delivery_type='0602', options=LS_OPTIONS), record)
        self.assertEqual(detect_system(line.encode('latin-1')), 'LS')
        self.assertEqual(detect_system(example_file()), 'BS')
        with self.assertRaises(FormatError) as cm:
            list(parse(example_file(), options=LS_OPTIONS))
        self.assertEqual((cm.exception.line, cm.exception.field), (1, 'system id'))


class BuilderTest(unittest.TestCase):
    """Layout rules and conflicts handled by build_0601."""

    def order(self, **kw):
        values = dict(customer_number='c-1', payment_date=date(2026, 3, 2),
                      amount=D('10.00'), mandate_number='000000123', reference='INV1')
        values.update(kw)
        return CollectionOrder(**values)

    def section(self, *orders, **kw):
        values = dict(bank_reg='1234', bank_account='1234567')
        values.update(kw)
        return CreditorSection('1234567', 1, orders, **values)

    def build(self, *sections, **kw):
        return layout_0601('12345678', 7, sections, created=date(2026, 1, 15), **kw)

    def test_normalises_identifiers(self):
        records = self.build(self.section(self.order()))
        start, collection = records[1], records[2]
        self.assertEqual((start.pbs_number, start.bank_account), ('01234567', '0001234567'))
        self.assertEqual(collection.customer_number, 'C-1')

    def test_missing_mandate_names_invoice_c3(self):
        with self.assertRaises(ExportError) as cm:
            self.build(self.section(self.order(mandate_number='')))
        self.assertEqual((cm.exception.reference, cm.exception.field),
                         ('INV1', 'mandate number'))
        self.assertIn("invoice 'INV1'", str(cm.exception))

    def test_slips_agreement_writes_zero_mandate_c3(self):
        records = self.build(self.section(self.order(texts=('a',)), agreement=SLIPS))
        self.assertEqual(records[2].mandate_number, '000000000')
        self.assertEqual(records[3].mandate_number, '000000000')

    def test_net_amount_c7(self):
        orders = (self.order(), self.order(customer_number='c-2', amount=D('-3.00')))
        self.assertEqual(self.build(self.section(*orders))[-2].net_amount, D('7.00'))
        gross = self.build(self.section(*orders), options=Options(net_amount='gross'))
        self.assertEqual(gross[-2].net_amount, D('13.00'))
        self.assertEqual(gross[-1].net_amount, D('13.00'))

    def test_blank_section_account_c1(self):
        options = Options(blank_section_account=True)
        data = build_0601('12345678', 7, [self.section(self.order())], options=options)
        self.assertEqual(lines_of(data)[1][54:68], ' ' * 14)
        with self.assertRaises(FormatError) as cm:
            list(parse(data))
        self.assertEqual((cm.exception.line, cm.exception.field), (2, 'registration number'))

    def test_delivery_end_filler_c5(self):
        data = build_0601('12345678', 7, [self.section(self.order())],
                          options=Options(delivery_end_filler=' '))
        last = lines_of(data)[-1]
        self.assertEqual(last[68:83], ' ' * 15)
        self.assertEqual(len(list(parse(data))), 5)   # both fillers are read

    def test_payer_id_in_0280_c2(self):
        pid = make_payment_id(1001, 20260123)
        with self.assertRaises(ExportError):
            self.build(self.section(self.order(payer_id=pid)))
        options = Options(payer_id_in_0280=True)
        data = build_0601('12345678', 7, [self.section(self.order(payer_id=pid))],
                          options=options)
        self.assertEqual(lines_of(data)[2][105:128], pid + '0' * 8)
        with self.assertRaises(ExportError):
            self.build(self.section(self.order(payer_id='001001202601231')), options=options)

    def test_latin1_replacement_is_reported(self):
        replacements = []
        records = self.build(self.section(self.order(texts=('Gebyr 5 € – “rykker”',))),
                             replacements=replacements)
        self.assertEqual(records[3].text, 'Gebyr 5 EUR - "rykker"')
        self.assertEqual(len(replacements), 1)
        self.assertEqual((replacements[0].customer_number, replacements[0].reference,
                          replacements[0].field), ('c-1', 'INV1', 'text'))
        self.assertEqual(to_latin1('Øre ÿ Œuvre ł'), 'Øre ÿ OEuvre l')

    def test_long_text_is_cut_at_field_boundary(self):
        records = self.build(self.section(self.order(reference='R' * 40, texts=('T' * 70,))))
        self.assertEqual(records[2].reference, 'R' * 30)
        self.assertEqual(records[3].text, 'T' * 60)
        lines = lines_of(render(records))
        self.assertEqual(lines[2][73:105], 'R' * 30 + '00')
        self.assertEqual(lines[3][51:113], ' ' + 'T' * 60 + ' ')

    def test_fit_text_lines(self):
        """Free text becomes at most 5000 Latin-1 lines of 60 characters."""
        text = ['', '  ', 'Kære Søren — vi trækker 100 € ' + 'x' * 40, '', 'Tak.  ', '', '']
        self.assertEqual(fit_text_lines(text), (
            ('Kære Søren - vi trækker 100 EUR ' + 'x' * 40)[:60], '', 'Tak.'))
        self.assertEqual(len(fit_text_lines(['linje'] * 6000)), 5000)
        self.assertEqual(fit_text_lines(['', ' ']), ())
        records = self.build(self.section(self.order(texts=fit_text_lines(text))))
        self.assertEqual([r.text for r in records if isinstance(r, NotificationText)],
                         list(fit_text_lines(text)))

    def test_debtor_records_0117(self):
        debtor = Debtor(('Jens Hansen', 'Søndergade 1'), '8000', 'DK', '0101901234')
        records = self.build(CreditorSection('1234567', 1, (
            self.order(debtor=debtor, texts=('x',)),), section='0117'))
        self.assertEqual([type(r).__name__ for r in records[2:7]], [
            'DebtorAddress', 'DebtorAddress', 'DebtorPostcode', 'DebtorIdentity',
            'CardCollection'])
        self.assertEqual((records[1].bank_reg, records[1].bank_account), ('0000', '0' * 10))
        self.assertEqual(records[-2].debtor_count, 4)
        with self.assertRaises(ExportError) as cm:
            self.build(CreditorSection('1234567', 1, (self.order(),), section='0117'))
        self.assertEqual(cm.exception.field, 'debtor')
        foreign = Debtor(('Sven Svensson', 'Storgatan 1'), '', 'SE')
        with self.assertRaises(ExportError):
            self.build(CreditorSection('1234567', 1, (self.order(debtor=foreign),),
                                       section='0117'))

    def test_ocr_card_0118(self):
        debtor = Debtor(('Jens Hansen', 'Søndergade 1'), '8000')
        pid = make_payment_id(1001, 20260123)
        records = self.build(CreditorSection('1234567', 1, (
            self.order(debtor=debtor, payer_id=pid, card_texts=('Tilmeld',)),),
            section='0118'))
        self.assertEqual(records[5].payer_id, '0' + pid)
        self.assertIsInstance(records[6], CardText)
        with self.assertRaises(ExportError):
            self.build(CreditorSection('1234567', 1, (
                self.order(debtor=debtor, texts=('x',)),), section='0118'))

    def test_refuses_float_and_sub_ore_amounts(self):
        for value in (10.0, D('10.001')):
            with self.subTest(value=value), self.assertRaises(ExportError) as cm:
                self.build(self.section(self.order(amount=value)))
            self.assertEqual(cm.exception.field, 'amount')

    def test_refuses_duplicate_customer_date(self):
        with self.assertRaises(ExportError) as cm:
            self.build(self.section(self.order(), self.order(reference='INV2')))
        self.assertEqual(cm.exception.reference, 'INV2')

    def test_date_rules_with_injected_clock(self):
        debtor = Debtor(('Jens Hansen', 'Søndergade 1'), '8000')
        now = datetime(2026, 2, 27, 12, 0)     # a Friday
        self.assertEqual(add_banking_days(now.date(), 2), date(2026, 3, 3))
        section = CreditorSection('1234567', 1, (
            self.order(debtor=debtor, payment_date=date(2026, 3, 2)),), section='0117')
        with self.assertRaises(ExportError) as cm:
            self.build(section, now=now)
        self.assertEqual(cm.exception.field, 'payment date')
        self.build(section, now=datetime(2026, 2, 26, 12, 0))
        # 0113: 09:00 on the 6th-last banking day of February 2026 = Friday 20 Feb
        self.assertEqual(replacement_deadline(date(2026, 3, 2)), datetime(2026, 2, 20, 9, 0))
        replacement = self.section(self.order(), section='0113')
        self.build(replacement, now=datetime(2026, 2, 20, 8, 59))
        with self.assertRaises(ExportError):
            self.build(replacement, now=datetime(2026, 2, 20, 9, 0))

    def test_verify_reads_file_back(self):
        data = build_0601('12345678', 7, [self.section(self.order())])
        self.assertEqual(list(parse(data)),
                         layout_0601('12345678', 7, [self.section(self.order())]))
        self.assertEqual(len(data), 5 * 130)


class PaymentIdTest(unittest.TestCase):
    """FI-card payment ids and the modulus-10 check digit (spec section 4 vectors)."""

    def test_spec_vectors(self):
        self.assertEqual(mod10_check_digit('00100120260123'), 0)
        self.assertEqual(mod10_check_digit('02684014996532'), 8)
        self.assertEqual(make_payment_id(1001, 20260123), '001001202601230')
        self.assertEqual(make_payment_id('1001', '20260123'), '001001202601230')

    def test_check_payment_id(self):
        self.assertTrue(check_payment_id('001001202601230'))
        self.assertTrue(check_payment_id('026840149965328', '71'))
        self.assertFalse(check_payment_id('026840149965327'))
        self.assertFalse(check_payment_id('02684014996532'))
        self.assertFalse(check_payment_id('026840149965328', '75'))
        self.assertFalse(check_payment_id('02684014996532X'))
        self.assertTrue(check_payment_id(make_payment_id(1001, 20260123, card_type='75'),
                                         '75'))
        self.assertEqual(split_payment_id('001001202601230'), ('001001', '20260123'))

    def test_ocr_line(self):
        line = format_ocr_line('71', '001001202601230', '12345678')
        self.assertEqual(line, '+71<001001202601230 +12345678<')
        parsed = parse_ocr_line(line)
        self.assertEqual((parsed.card_type, parsed.payment_id, parsed.creditor_number),
                         ('71', '001001202601230', '12345678'))
        self.assertEqual(str(parsed), line)
        self.assertEqual(parse_ocr_line('+73<+12345678<').payment_id, '')
        for bad in ('+71<001001202601231 +12345678<', '+71<00100120260123 +12345678<',
                    '+99<+12345678<', '71 nonsense'):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                parse_ocr_line(bad)

    def test_too_long_numbers(self):
        with self.assertRaises(ValueError):
            make_payment_id(1234567, 1)
        with self.assertRaises(ValueError):
            make_payment_id(1, 123456789)

    @SETTINGS
    @given(st.integers(0, 999999), st.integers(0, 99999999))
    def test_built_ids_validate_and_detect_single_digit_errors(self, customer, invoice):
        pid = make_payment_id(customer, invoice)
        self.assertEqual(len(pid), 15)
        self.assertTrue(check_payment_id(pid, '71'))
        self.assertEqual(split_payment_id(pid), ('%06d' % customer, '%08d' % invoice))
        for i in range(15):
            wrong = pid[:i] + str((int(pid[i]) + 1) % 10) + pid[i + 1:]
            self.assertFalse(check_payment_id(wrong), wrong)


# --- property tests -----------------------------------------------------------------

LATIN1 = st.characters(codec='latin-1', exclude_categories=('Cc',))
DIGITS = st.characters(min_codepoint=48, max_codepoint=57)


def field_strategy(spec):
    width = spec.end - spec.start + 1
    kind = spec.kind
    if kind == 'num':
        if spec.choices is not None:
            return st.sampled_from(sorted(spec.choices))
        return st.integers(0, 10 ** width - 1)
    if kind in ('digits', 'digits_or_blank'):
        if spec.choices is not None:
            return st.sampled_from(sorted(spec.choices))
        strategy = st.text(DIGITS, min_size=width, max_size=width)
        if kind == 'digits_or_blank':
            return st.one_of(st.just(''), strategy)
        return strategy
    if kind == 'alpha':
        return st.text(LATIN1, max_size=width).map(lambda s: s.rstrip(' '))
    if kind == 'amount':
        return st.integers(0, 10 ** width - 1).map(ore_to_amount)
    if kind == 'date6':
        strategy = st.dates(date(2000, 1, 1), date(2099, 12, 31))
    else:
        strategy = st.dates()
    if spec.optional:
        return st.one_of(st.none(), strategy)
    return strategy


def record_strategy(cls, options):
    kwargs = {}
    for name, spec in field_specs(cls):
        if spec.when is not None and not getattr(options, spec.when):
            continue
        if spec.blank_if and getattr(options, spec.blank_if):
            spec = dataclasses.replace(spec, kind='digits_or_blank')
        kwargs[name] = field_strategy(spec)
    return st.builds(cls, **kwargs)


ALL_RECORDS = sorted({(family, cls) for family, classes in RECORDS.items()
                      for cls in classes}, key=lambda fc: (fc[0], fc[1].__name__))
OPTION_SETS = [Options(), Options(payer_id_in_0280=True, blank_section_account=True,
                                  delivery_end_filler=' ')]


class RoundTripTest(unittest.TestCase):
    """parse(render(x)) == x for every record type and for whole deliveries."""

    def test_every_record_type(self):
        for family, cls in ALL_RECORDS:
            for options in OPTION_SETS:
                with self.subTest(family=family, record=cls.__name__, options=options):
                    self._round_trip(family, cls, options)

    def _round_trip(self, family, cls, options):
        @SETTINGS
        @given(record_strategy(cls, options))
        def check(record):
            text = rendered(render_record, record, options=options)
            self.assertEqual(len(text), 128)
            self.assertEqual(text.encode('latin-1').decode('latin-1'), text)
            self.assertEqual(parse_record(text, delivery_type=family, options=options), record)
        check()

    @SETTINGS
    @given(st.data())
    def test_whole_0601_delivery(self, data):
        sections = data.draw(st.lists(section_strategy(), min_size=1, max_size=4,
                                      unique_by=lambda s: (s.section, s.debtor_group)))
        records = layout_0601('12345678', data.draw(st.integers(1, 10 ** 10 - 1)), sections,
                              created=data.draw(st.none() | st.dates(date(2000, 1, 1),
                                                                     date(2099, 12, 31))))
        data = rendered(render, records)
        self.assertEqual(list(parse(data, delivery_type='0601')), records)
        self.assertEqual(build_0601('12345678', records[0].delivery_id, sections,
                                    created=records[0].created), data)
        # independent cross-check of the totals
        expected = sum((abs(sum((o.amount for o in s.collections), D(0)))
                        for s in sections), D(0))
        self.assertEqual(records[-1].net_amount, expected)
        self.assertEqual(records[-1].collection_count,
                         sum(len(s.collections) for s in sections))
        self.assertEqual(records[-1].section_count, len(sections))
        lines = data.split(b'\r\n')
        self.assertEqual(lines[-1], b'')
        self.assertEqual({len(line) for line in lines[:-1]}, {128})

    @SETTINGS
    @given(st.data())
    def test_whole_0602_delivery(self, data):
        body = [DeliveryStart('12345678', 'BS1', '0602', data.draw(st.integers(0, 99999)),
                              data.draw(st.none() | st.dates(date(2000, 1, 1),
                                                             date(2099, 12, 31))))]
        count = 0
        for group, section in enumerate(data.draw(st.lists(
                st.sampled_from(['0211', '0215']), min_size=1, max_size=3)), 1):
            body.append(ReplySectionStart('01234567', section, group, 'ID', None))
            if section == '0211':
                events = data.draw(st.lists(record_strategy(PaymentEvent, Options()),
                                            max_size=5))
            else:
                events = data.draw(st.lists(st.one_of(
                    record_strategy(SlipPayment, Options()),
                    record_strategy(SlipText, Options()),
                    record_strategy(SlipAddress, Options())), max_size=5))
            for event in events:
                event = dataclasses.replace(event, pbs_number='01234567', debtor_group=group)
                count += event.ROLE == 'collection'
                body.append(event)
        records = list(with_totals(body))
        data = rendered(render, records)
        self.assertEqual(list(parse(data, delivery_type='0602')), records)
        result = parse_0602(data)
        self.assertEqual(len(result.payments), count)
        # totals written by with_totals are accepted; only unmatched slip lines may warn
        self.assertEqual({w.field for w in result.warnings} - {'archive reference'}, set())

    @SETTINGS
    @given(st.data())
    def test_whole_0603_delivery(self, data):
        body = [DeliveryStart('12345678', 'BS1', '0603', 5, date(2026, 2, 3))]
        count = 0
        for group, section in enumerate(data.draw(st.lists(
                st.sampled_from(['0210', '0212', '0219']), min_size=1, max_size=3)), 1):
            body.append(ReplySectionStart('01234567', section, group, 'ID', None))
            codes = ['0230'] if section != '0212' else ['0231', '0232', '0233', '0234']
            for event in data.draw(st.lists(record_strategy(MandateEvent, Options()),
                                            max_size=5)):
                body.append(dataclasses.replace(
                    event, pbs_number='01234567', debtor_group=group,
                    transaction_code=data.draw(st.sampled_from(codes))))
                count += 1
        records = list(with_totals(body))
        data = rendered(render, records)
        self.assertEqual(list(parse(data, delivery_type='0603')), records)
        self.assertEqual(len(parse_0603(data).mandates), count)


CUSTOMER = st.text(st.sampled_from('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/'),
                   min_size=1, max_size=15)
TEXT = st.text(LATIN1, max_size=60).map(lambda s: s.rstrip(' '))
AMOUNT = st.integers(1, 10 ** 11 - 1).map(ore_to_amount)


@st.composite
def debtor_strategy(draw):
    country = draw(st.sampled_from(['', 'DK', 'SE', 'DE']))
    minimum = 2 if country in ('', 'DK') else 3
    lines = draw(st.lists(st.text(LATIN1, min_size=1, max_size=35).map(str.rstrip),
                          min_size=minimum, max_size=5))
    return Debtor(tuple(lines), draw(st.text(DIGITS, max_size=4)), country,
                  draw(st.just('') | st.text(DIGITS, min_size=10, max_size=10)))


@st.composite
def section_strategy(draw):
    section = draw(st.sampled_from(['0112', '0113', '0117', '0118']))
    agreement = draw(st.sampled_from(['automatic', SLIPS])) if section == '0112' else 'automatic'
    customers = draw(st.lists(CUSTOMER, max_size=5, unique=True))
    orders = []
    for customer in customers:
        sign = draw(st.sampled_from([1, 1, 0, -1] if section in ('0112', '0113') else [1, 0]))
        value = draw(AMOUNT) * sign if sign else D('0.00')
        debtor = None
        if section in ('0117', '0118') or (section == '0112' and agreement == SLIPS
                                           and draw(st.booleans())):
            debtor = draw(debtor_strategy())
        payer_id = ''
        if section == '0118' and draw(st.booleans()):
            payer_id = make_payment_id(draw(st.integers(0, 999999)),
                                       draw(st.integers(0, 99999999)))
        card_texts = ()
        if section == '0118' or (section == '0112' and agreement == SLIPS):
            card_texts = tuple(draw(st.lists(TEXT, max_size=2)))
        orders.append(CollectionOrder(
            customer, draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))), value,
            draw(st.integers(1, 999999999)).__str__(), draw(TEXT),
            texts=() if section == '0118' else tuple(draw(st.lists(TEXT, max_size=3))),
            card_texts=card_texts, debtor=debtor, payer_id=payer_id))
    return CreditorSection(
        draw(st.text(DIGITS, min_size=8, max_size=8)), draw(st.integers(0, 99999)),
        tuple(orders), section=section, creditor_id=draw(TEXT)[:15].rstrip(),
        bank_reg=draw(st.text(DIGITS, min_size=4, max_size=4)),
        bank_account=draw(st.text(DIGITS, min_size=10, max_size=10)),
        main_text=draw(TEXT), agreement=agreement)


if __name__ == '__main__':
    unittest.main()
