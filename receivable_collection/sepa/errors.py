"""The one error raised by the SEPA codecs for input that breaks the format."""
from __future__ import annotations


class SepaFormatError(ValueError):
    """A SEPA XML document that cannot be accepted, naming its line, field and problem.

    ``line`` is 1-based (0 when the problem is not tied to a line, e.g. empty input),
    ``field`` an XPath-like path such as
    ``Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[2]/TxInfAndSts[1]/OrgnlEndToEndId``.
    """

    def __init__(self, line: int, field: str, message: str):
        super().__init__(f'line {line}, {field}: {message}')
        self.line = line
        self.field = field
        self.message = message

    def __reduce__(self):
        return (type(self), (self.line, self.field, self.message))
