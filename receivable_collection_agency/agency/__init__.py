"""Agency claim API: protocol (money, validation, hashes, signatures, events), push client, files.

Plain Python without Tryton, following ``shared/specs/agency-claim-api.md``.
"""
