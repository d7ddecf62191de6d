"""Made-up people and employers with valid identifiers: resident ids (GB 11643) and
unified social credit codes (GB 32100, with the GB 11714 organization code inside).

Every value is drawn from the injected `random.Random`, so a seed repeats a run.
"""

from datetime import timedelta

# GB 11643-1999: weights of the first 17 digits, and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100-2015: the 31 characters a credit code may use, and the weights of the first 17.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714-1997: the organization code's body weights.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Where workers in an Ürümqi district come from: the district itself and its neighbours
# mostly, then the provinces that send the most migrant workers.
HOME_REGIONS = (
    ("650105", 30),
    ("650102", 14),
    ("650104", 12),
    ("650103", 10),
    ("650106", 4),
    ("652301", 5),
    ("654002", 3),
    ("620102", 5),
    ("621102", 3),
    ("410102", 4),
    ("411302", 3),
    ("510104", 3),
    ("500101", 2),
    ("130102", 1),
    ("371302", 1),
)
DISTRICT_REGION = "650105"  # 水磨沟区 (Shuimogou district), where the employers are registered

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林买艾阿热吐"
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅玉兰海燕古丽江"
COMPANY_WORDS = (
    "天山",
    "博格达",
    "新疆",
    "乌鲁木齐",
    "红山",
    "雅玛里克",
    "水磨沟",
    "丝路",
    "金盛",
    "华泰",
    "鸿远",
    "西域",
)
COMPANY_TRADES = (
    "建筑工程",
    "物业服务",
    "餐饮管理",
    "商贸",
    "物流",
    "家政服务",
    "机械制造",
    "装饰工程",
    "保安服务",
    "汽车维修",
)
COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
STREETS = (
    "南湖南路",
    "南湖北路",
    "七道湾路",
    "八道湾路",
    "六道湾路",
    "新民路",
    "华光街",
    "龙盛街",
    "水塔山路",
    "振安街",
    "温泉东路",
    "昆仑东街",
)
JOBS = ("建筑工人", "保洁员", "厨师", "服务员", "保安", "司机", "仓库管理员", "销售", "电工", "焊工", "会计", "装修工")


def weighted(rng, pairs):
    """One value of `(value, weight)` pairs."""
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def resident_id_check(first17):
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_resident_id(value):
    return (
        isinstance(value, str)
        and len(value) == 18
        and value[:17].isdigit()
        and value[17] == resident_id_check(value[:17])
    )


def resident_id(rng, born, region=None, sequence=None):
    """An 18-character resident id: region, birth date, sequence, GB 11643 check digit."""
    region = region or weighted(rng, HOME_REGIONS)
    sequence = rng.randrange(1, 1000) if sequence is None else sequence
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check(first17)


def organization_code(rng):
    """A 9-character organization code (GB 11714): 8 digits and its check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    remainder = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    check = "X" if remainder == 10 else "0" if remainder == 11 else str(remainder)
    return body + check


def credit_code_check(first17):
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(value):
    return (
        isinstance(value, str)
        and len(value) == 18
        and all(c in CREDIT_CODE_CHARSET for c in value)
        and value[17] == credit_code_check(value[:17])
    )


def credit_code(rng, region=DISTRICT_REGION):
    """An 18-character unified social credit code: '9' (market regulator), '1' (enterprise),
    region, organization code, GB 32100 check character."""
    first17 = f"91{region}{organization_code(rng)}"
    return first17 + credit_code_check(first17)


def person_name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def phone(rng):
    return rng.choice(("13", "15", "17", "18", "19")) + "".join(rng.choice("0123456789") for _ in range(9))


def address(rng):
    return f"乌鲁木齐市水磨沟区{rng.choice(STREETS)}{rng.randrange(1, 400)}号"


def worker(rng, today):
    """An applicant: a worker aged 18 to 62 on `today`."""
    born = today - timedelta(days=rng.randrange(18 * 365 + 5, 62 * 365))
    return {
        "name": person_name(rng),
        "id_type": "resident_id",
        "id_number": resident_id(rng, born),
        "phone": phone(rng),
        "address": address(rng),
        "job": rng.choice(JOBS),
    }


def employer(rng):
    return {
        "name": f"乌鲁木齐{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_TRADES)}{rng.choice(COMPANY_FORMS)}",
        "credit_code": credit_code(rng),
        "address": address(rng),
        "legal_representative": person_name(rng),
        "contact": phone(rng),
    }


def certificate_no(rng, center_code, year):
    return f"XJTJ{year}{center_code}{rng.randrange(1, 10000):04d}"
