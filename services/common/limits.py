"""Every limit the system's boundary enforces, in one place (docs/LIMITS.md says why each is what it is).

A value inside these limits is one every store, projection and consumer holds; a value
outside is refused at the boundary (400, 413 or 422) before anything is stored.
"""

from datetime import date
from decimal import Decimal

# HTTP (every service, in the web server): a body larger than this is 413, one not sent in
# time is 408. Both can be set per deployment (TIAOJIE_HTTP_MAX_BODY_BYTES, ..._READ_TIMEOUT_SECONDS).
MAX_BODY_BYTES = 256 * 1024
READ_TIMEOUT_SECONDS = 10.0
# A JSON body: nesting (an application nests three levels) and integers (beyond 2^53 a
# JavaScript client loses digits).
MAX_JSON_DEPTH = 20
MAX_JSON_INTEGER = 2**53
# Idempotency-Key: stored and compared, so visible ASCII of bounded length.
MAX_IDEMPOTENCY_KEY_LENGTH = 200

# Lists: the page number of any list (page x page size stays far inside PostgreSQL's bigint).
MAX_PAGE = 10_000

# Money (CNY, two places): one amount, and the sum of a case's claims. numeric(16,2)
# columns hold 14 integer digits; this keeps 12, so a sum of amounts of several cases
# still fits, and the amount in Chinese capitals (大写) stays below 万亿.
MAX_AMOUNT = Decimal("999999999999.99")
# Claim lines of one application.
MAX_CLAIMS = 50

# Dates staff enter (receipt, sessions, performance due, certificates): not before the Labor
# Dispute Mediation and Arbitration Law took effect; events not after today (the service's
# clock, plus a minute of clock skew for timestamps); dates the domain has ahead (a
# performance due date, a certificate's expiry) at most ten years ahead. Whatever the
# clock, no date after LATEST_DATE, so date arithmetic (a due date plus a grace period)
# never leaves the calendar.
EARLIEST_DATE = date(2008, 5, 1)
CLOCK_SKEW_SECONDS = 60
LATEST_DATE = date(2099, 12, 31)
MAX_DAYS_AHEAD = 10 * 366
# Employment dates and birth dates in resident ids reach further back.
EARLIEST_EMPLOYMENT_DATE = date(1950, 1, 1)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
