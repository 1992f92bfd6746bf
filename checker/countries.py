"""Issuing states and territories of the spec catalogue: ISO 3166-1 alpha-2 code -> English and
Chinese names, with the other names people search by. ``EU`` stands for the Schengen area."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    name_zh: str
    aliases: tuple[str, ...] = ()  # other names in English or Chinese, for search


_TABLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("AE", "United Arab Emirates", "阿联酋", ("UAE", "Emirates", "阿拉伯联合酋长国", "迪拜")),
    ("AL", "Albania", "阿尔巴尼亚", ()),
    ("AM", "Armenia", "亚美尼亚", ()),
    ("AR", "Argentina", "阿根廷", ()),
    ("AT", "Austria", "奥地利", ()),
    ("AU", "Australia", "澳大利亚", ("澳洲",)),
    ("AZ", "Azerbaijan", "阿塞拜疆", ()),
    ("BA", "Bosnia and Herzegovina", "波斯尼亚和黑塞哥维那", ("Bosnia", "波黑")),
    ("BD", "Bangladesh", "孟加拉国", ("孟加拉",)),
    ("BE", "Belgium", "比利时", ()),
    ("BG", "Bulgaria", "保加利亚", ()),
    ("BH", "Bahrain", "巴林", ()),
    ("BR", "Brazil", "巴西", ()),
    ("BY", "Belarus", "白俄罗斯", ()),
    ("CA", "Canada", "加拿大", ()),
    ("CH", "Switzerland", "瑞士", ()),
    ("CL", "Chile", "智利", ()),
    ("CM", "Cameroon", "喀麦隆", ()),
    ("CN", "China", "中国", ("PRC", "People's Republic of China", "中华人民共和国", "大陆")),
    ("CO", "Colombia", "哥伦比亚", ()),
    ("CY", "Cyprus", "塞浦路斯", ()),
    ("CZ", "Czechia", "捷克", ("Czech Republic",)),
    ("DE", "Germany", "德国", ("Deutschland",)),
    ("DK", "Denmark", "丹麦", ()),
    ("DZ", "Algeria", "阿尔及利亚", ()),
    ("EE", "Estonia", "爱沙尼亚", ()),
    ("EG", "Egypt", "埃及", ()),
    ("ES", "Spain", "西班牙", ("España",)),
    ("ET", "Ethiopia", "埃塞俄比亚", ()),
    ("EU", "European Union (Schengen area)", "欧盟(申根区)", ("Europe", "欧洲", "欧盟")),
    ("FI", "Finland", "芬兰", ()),
    ("FR", "France", "法国", ()),
    ("GB", "United Kingdom", "英国", ("UK", "Britain", "Great Britain", "England", "大不列颠")),
    ("GE", "Georgia", "格鲁吉亚", ()),
    ("GH", "Ghana", "加纳", ()),
    ("GR", "Greece", "希腊", ()),
    ("HK", "Hong Kong", "中国香港", ("Hong Kong SAR", "HKSAR", "香港")),
    ("HR", "Croatia", "克罗地亚", ()),
    ("HU", "Hungary", "匈牙利", ()),
    ("ID", "Indonesia", "印度尼西亚", ("印尼",)),
    ("IE", "Ireland", "爱尔兰", ()),
    ("IL", "Israel", "以色列", ()),
    ("IN", "India", "印度", ()),
    ("IQ", "Iraq", "伊拉克", ()),
    ("IR", "Iran", "伊朗", ()),
    ("IS", "Iceland", "冰岛", ()),
    ("IT", "Italy", "意大利", ()),
    ("JO", "Jordan", "约旦", ()),
    ("JP", "Japan", "日本", ()),
    ("KE", "Kenya", "肯尼亚", ()),
    ("KG", "Kyrgyzstan", "吉尔吉斯斯坦", ()),
    ("KH", "Cambodia", "柬埔寨", ()),
    ("KR", "South Korea", "韩国", ("Korea", "Republic of Korea", "大韩民国")),
    ("KW", "Kuwait", "科威特", ()),
    ("KZ", "Kazakhstan", "哈萨克斯坦", ()),
    ("LA", "Laos", "老挝", ("Lao PDR",)),
    ("LB", "Lebanon", "黎巴嫩", ()),
    ("LI", "Liechtenstein", "列支敦士登", ()),
    ("LK", "Sri Lanka", "斯里兰卡", ()),
    ("LT", "Lithuania", "立陶宛", ()),
    ("LU", "Luxembourg", "卢森堡", ()),
    ("LV", "Latvia", "拉脱维亚", ()),
    ("MA", "Morocco", "摩洛哥", ()),
    ("MD", "Moldova", "摩尔多瓦", ()),
    ("ME", "Montenegro", "黑山", ()),
    ("MK", "North Macedonia", "北马其顿", ("Macedonia",)),
    ("MM", "Myanmar", "缅甸", ("Burma",)),
    ("MT", "Malta", "马耳他", ()),
    ("MX", "Mexico", "墨西哥", ()),
    ("MY", "Malaysia", "马来西亚", ()),
    ("NG", "Nigeria", "尼日利亚", ()),
    ("NL", "Netherlands", "荷兰", ("Holland", "Nederland")),
    ("NO", "Norway", "挪威", ()),
    ("NP", "Nepal", "尼泊尔", ()),
    ("NZ", "New Zealand", "新西兰", ()),
    ("OM", "Oman", "阿曼", ()),
    ("PE", "Peru", "秘鲁", ()),
    ("PH", "Philippines", "菲律宾", ()),
    ("PK", "Pakistan", "巴基斯坦", ()),
    ("PL", "Poland", "波兰", ()),
    ("PT", "Portugal", "葡萄牙", ()),
    ("QA", "Qatar", "卡塔尔", ()),
    ("RO", "Romania", "罗马尼亚", ()),
    ("RS", "Serbia", "塞尔维亚", ()),
    ("RU", "Russia", "俄罗斯", ("Russian Federation", "俄罗斯联邦")),
    ("SA", "Saudi Arabia", "沙特阿拉伯", ("Saudi", "沙特")),
    ("SD", "Sudan", "苏丹", ()),
    ("SE", "Sweden", "瑞典", ()),
    ("SG", "Singapore", "新加坡", ()),
    ("SI", "Slovenia", "斯洛文尼亚", ()),
    ("SK", "Slovakia", "斯洛伐克", ()),
    ("SN", "Senegal", "塞内加尔", ()),
    ("TH", "Thailand", "泰国", ()),
    ("TN", "Tunisia", "突尼斯", ()),
    ("TR", "Türkiye", "土耳其", ("Turkey",)),
    ("TW", "Taiwan", "中国台湾", ("台湾",)),
    ("TZ", "Tanzania", "坦桑尼亚", ()),
    ("UA", "Ukraine", "乌克兰", ()),
    ("US", "United States", "美国", ("USA", "America", "United States of America", "美利坚合众国")),
    ("UZ", "Uzbekistan", "乌兹别克斯坦", ()),
    ("VN", "Vietnam", "越南", ("Viet Nam",)),
    ("YE", "Yemen", "也门", ()),
    ("ZA", "South Africa", "南非", ()),
)

COUNTRIES: dict[str, Country] = {code: Country(code, en, zh, aliases) for code, en, zh, aliases in _TABLE}


def country(code: str | None) -> Country | None:
    """The country of an ISO code (any case), or None."""
    return COUNTRIES.get(code.strip().upper()) if code else None


def find(text: str) -> Country | None:
    """A country by its code, English or Chinese name, or one of its other names (any case)."""
    key = text.strip().casefold()
    for c in COUNTRIES.values():
        if key in (c.code.casefold(), c.name.casefold(), c.name_zh, *(a.casefold() for a in c.aliases)):
            return c
    return None


def search_text(code: str | None) -> str:
    """Every name a country goes by, lower-cased, for the catalogue's word search."""
    c = country(code)
    if c is None:
        return ""
    return " ".join([c.code, c.name, c.name_zh, *c.aliases]).casefold()
