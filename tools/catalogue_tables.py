"""Hand-written tables tools/import_specs.py joins with the passport-photo-specs data set.

The data set enumerates documents (country, document, size in mm and px, dpi, a background
colour); these tables say what this catalogue makes of each: the issuing state's ISO code, the
document's category and names in English and Chinese, which entries duplicate a spec already in
specs/, the issuing authority, and where the authority's own rules correct or add to the data set's
figures. Only facts carry over from the data set (sizes, dpi, colours); every word here is ours.
"""

from __future__ import annotations

from typing import Any

READ = "2026-12-02"  # when these tables were last set against their sources

# data set country id -> ISO 3166-1 alpha-2 (EU: the Schengen area)
COUNTRY_CODES: dict[str, str] = {
    "us": "US", "uk": "GB", "canada": "CA", "australia": "AU", "india": "IN", "schengen": "EU", "uae": "AE",
    "germany": "DE", "japan": "JP", "brazil": "BR", "mexico": "MX", "china": "CN", "indonesia": "ID",
    "finland": "FI", "france": "FR", "spain": "ES", "italy": "IT", "poland": "PL", "sweden": "SE", "norway": "NO",
    "denmark": "DK", "switzerland": "CH", "austria": "AT", "belgium": "BE", "portugal": "PT", "netherlands": "NL",
    "greece": "GR", "hungary": "HU", "romania": "RO", "ukraine": "UA", "turkey": "TR", "israel": "IL", "qatar": "QA",
    "kuwait": "KW", "saudi-arabia": "SA", "egypt": "EG", "south-africa": "ZA", "nigeria": "NG", "russia": "RU",
    "south-korea": "KR", "thailand": "TH", "vietnam": "VN", "malaysia": "MY", "philippines": "PH", "singapore": "SG",
    "hong-kong": "HK", "taiwan": "TW", "pakistan": "PK", "bangladesh": "BD", "argentina": "AR", "new-zealand": "NZ",
    "ireland": "IE", "iceland": "IS", "cyprus": "CY", "malta": "MT", "bulgaria": "BG", "croatia": "HR",
    "czech-republic": "CZ", "slovakia": "SK", "slovenia": "SI", "estonia": "EE", "latvia": "LV", "lithuania": "LT",
    "serbia": "RS", "bosnia": "BA", "montenegro": "ME", "north-macedonia": "MK", "albania": "AL", "moldova": "MD",
    "kazakhstan": "KZ", "belarus": "BY", "georgia": "GE", "armenia": "AM", "azerbaijan": "AZ", "uzbekistan": "UZ",
    "kyrgyzstan": "KG", "morocco": "MA", "tunisia": "TN", "algeria": "DZ", "jordan": "JO", "lebanon": "LB",
    "kenya": "KE", "nepal": "NP", "sri-lanka": "LK", "myanmar": "MM", "cambodia": "KH", "colombia": "CO", "peru": "PE",
    "chile": "CL", "ethiopia": "ET", "ghana": "GH", "iran": "IR", "tanzania": "TZ", "yemen": "YE", "iraq": "IQ",
    "senegal": "SN", "cameroon": "CM", "sudan": "SD", "bahrain": "BH", "oman": "OM",
}

# How a document's country reads in its name (else checker.countries' English / Chinese name)
NAME_EN: dict[str, str] = {"US": "US", "GB": "UK", "AE": "UAE", "CZ": "Czech", "BA": "Bosnia and Herzegovina"}
NAME_ZH: dict[str, str] = {"HK": "香港特区", "TW": "台湾地区"}

# The EEA and Switzerland: their ID cards and residence permits are travel documents in ICAO format.
ICAO_ID_STATES = frozenset({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
                            "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
                            "CH"})

# data set document name -> (category, English name, Chinese name, slug, id code, medium)
# The id code is the last two digits of the spec id: 01-09 passports, 10-19 identity documents,
# 20-29 visas, 30-39 electronic visas and travel authorisations, 40-49 residence, 50 driving, 60+ other.
DOC_TYPES: dict[str, tuple[str, str, str, str, int, str]] = {
    "Passport": ("passport", "Passport", "护照", "passport", 1, "print"),
    "International Passport": ("passport", "Passport (for travel abroad)", "因私护照", "passport", 1, "print"),
    "Passport 4×6cm": ("passport", "Passport (4 x 6 cm)", "护照(4x6 厘米)", "passport", 1, "print"),
    "Internal Passport (ID Card)": ("id_card", "ID Card (internal passport)", "身份证(国内护照)", "id-card", 10,
                                    "print"),
    "Internal Passport (Паспорт РФ)": ("id_card", "Internal Passport", "国内护照", "internal-passport", 10, "print"),
    "ID Card": ("id_card", "ID Card", "身份证", "id-card", 10, "print"),
    "ID Card (RG)": ("id_card", "ID Card (RG)", "身份证(RG)", "id-card", 10, "print"),
    "ID Card (CNI)": ("id_card", "ID Card (CNI)", "身份证(CNI)", "id-card", 10, "print"),
    "DNI / ID Card": ("id_card", "ID Card (DNI)", "身份证(DNI)", "id-card", 10, "print"),
    "ID Card (CIE)": ("id_card", "ID Card (CIE)", "身份证(CIE)", "id-card", 10, "print"),
    "ID Card (Dowód)": ("id_card", "ID Card (dowód osobisty)", "身份证", "id-card", 10, "print"),
    "eID Card": ("id_card", "eID Card", "电子身份证", "id-card", 10, "print"),
    "ID Card (QID)": ("id_card", "ID Card (QID)", "身份证(QID)", "id-card", 10, "print"),
    "Civil ID": ("id_card", "Civil ID", "民事身份证", "civil-id", 10, "print"),
    "National ID": ("id_card", "National ID Card", "身份证", "id-card", 10, "print"),
    "Smart ID Card": ("id_card", "Smart ID Card", "智能身份证", "id-card", 10, "print"),
    "ID Card (CCCD)": ("id_card", "ID Card (CCCD)", "身份证(CCCD)", "id-card", 10, "print"),
    "NRIC / ID Card": ("id_card", "ID Card (NRIC)", "身份证(NRIC)", "nric", 10, "print"),
    "HKID Card": ("id_card", "Identity Card (HKID)", "身份证", "id-card", 10, "print"),
    "CNIC / NICOP": ("id_card", "ID Card (CNIC / NICOP)", "身份证(CNIC/NICOP)", "cnic", 10, "print"),
    "Emirates ID": ("id_card", "Emirates ID", "身份证(Emirates ID)", "emirates-id", 10, "print"),
    "My Number Card": ("id_card", "My Number Card", "个人编号卡", "my-number-card", 10, "print"),
    "Public Services Card": ("id_card", "Public Services Card", "公共服务卡", "public-services-card", 11, "print"),
    "PAN Card": ("id_card", "PAN Card", "PAN卡(永久账号卡)", "pan-card", 11, "print"),
    "Voter ID": ("id_card", "Voter ID Card", "选民证", "voter-id", 12, "print"),
    "Visa": ("visa", "Visa", "签证", "visa", 20, "print"),
    "Schengen Visa": ("visa", "Visa", "签证", "visa", 20, "print"),
    "Visa 3×4cm": ("visa", "Visa (3 x 4 cm)", "签证(3x4 厘米)", "visa-3x4", 21, "print"),
    "Visa 4×6cm Red": ("visa", "Visa (4 x 6 cm)", "签证(4x6 厘米)", "visa-4x6", 22, "print"),
    "Visa 35×45mm": ("visa", "Visa (35 x 45 mm)", "签证(35x45 毫米)", "visa-35x45", 23, "print"),
    "Visa Offline 43×55mm": ("visa", "Visa (paper application, 43 x 55 mm)", "签证(纸质申请,43x55 毫米)",
                             "visa-paper", 24, "print"),
    "eVisa": ("visa", "e-Visa", "电子签证", "e-visa", 30, "digital"),
    "e-Visa": ("visa", "e-Visa", "电子签证", "e-visa", 30, "digital"),
    "E-Visa": ("visa", "e-Visa", "电子签证", "e-visa", 30, "digital"),
    "eVISA / eNTRI": ("visa", "e-Visa (eVISA / eNTRI)", "电子签证(eVISA/eNTRI)", "e-visa", 30, "digital"),
    "eVisa / ETA": ("visa", "e-Visa / ETA", "电子签证/电子旅行授权", "e-visa", 30, "digital"),
    "Visa / NZeTA": ("visa", "Visa / NZeTA", "签证/电子旅行授权(NZeTA)", "visa", 20, "print"),
    "EVoA": ("visa", "Electronic Visa on Arrival", "电子落地签证", "e-voa", 31, "digital"),
    "Visa On Arrival": ("visa", "Visa on Arrival", "落地签证", "visa-on-arrival", 25, "print"),
    "Green Card": ("residence", "Green Card (permanent resident card)", "绿卡(永久居民卡)", "green-card", 40, "print"),
    "PR Card": ("residence", "Permanent Resident Card", "永久居民卡", "pr-card", 40, "print"),
    "Residence Permit": ("residence", "Residence Permit", "居留许可", "residence-permit", 41, "print"),
    "Residence Card": ("residence", "Residence Card", "居留卡", "residence-card", 41, "print"),
    "ID / Residence Card": ("residence", "Residence Card", "居留卡", "residence-card", 41, "print"),
    "Alien Registration Card": ("residence", "Alien Registration Card", "外国人登录证", "alien-registration-card", 42,
                                "print"),
    "Work Permit (Iqama)": ("residence", "Residence Permit (Iqama)", "居留证(Iqama)", "iqama", 42, "print"),
    "Driver's Licence": ("driving_licence", "Driving Licence", "驾驶执照", "driving-licence", 50, "print"),
    "Driving License": ("driving_licence", "Driving Licence", "驾驶执照", "driving-licence", 50, "print"),
    "Citizenship": ("government", "Citizenship Application", "入籍申请", "citizenship", 60, "print"),
    "OCI Card": ("government", "OCI Card (Overseas Citizenship of India)", "海外公民卡(OCI)", "oci-card", 61, "print"),
    "PCC (Police Clearance Certificate)": ("government", "Police Clearance Certificate", "无犯罪记录证明", "pcc", 62,
                                           "print"),
}

# data set document id -> the spec already in specs/ for the same document (not imported again)
DUPLICATES: dict[str, int] = {
    "us-passport": 7101, "us-visa": 3108, "uk-passport": 7201, "canada-passport": 7401, "canada-visa": 3120,
    "australia-passport": 7801, "india-visa": 3115, "schengen-visa": 7301, "japan-visa": 3109, "japan-passport": 7701,
    "brazil-visa": 3101, "china-visa": 7601, "china-passport": 3202, "france-visa": 3118, "italy-visa": 3113,
    "south-korea-visa": 3105, "thailand-visa": 3111, "vietnam-visa": 3116, "malaysia-visa": 3107,
    "philippines-visa": 3121, "argentina-visa": 3103, "nz-visa": 3112, "iceland-visa": 3102, "israel-visa": 3114,
}

# data set background text -> allowed colours (palette names, or the data set's hex where no name fits)
BACKGROUNDS: dict[str, list[str]] = {
    "Plain white": ["white"], "White": ["white"], "White or off-white": ["white", "off_white"],
    "Plain light grey": ["light_gray"], "Light grey": ["light_gray"],
    "Plain light grey or white": ["light_gray", "white"], "Plain white or light grey": ["white", "light_gray"],
    "Plain cream or light grey": ["cream", "light_gray"], "Plain grey": ["#D0D0D0"], "Red": ["red"],
    "Light blue": ["light_blue"], "Plain light blue": ["light_blue"],
}

# Issuing authorities: ISO code -> {category or "*": (authority, address or None)}
_GOV = "Government of {country}"
AUTHORITIES: dict[str, dict[str, tuple[str, str | None]]] = {
    "US": {"residence": ("U.S. Citizenship and Immigration Services", "https://www.uscis.gov/"),
           "*": ("U.S. Department of State, Bureau of Consular Affairs", "https://travel.state.gov/")},
    "GB": {"visa": ("UK Visas and Immigration, Home Office", "https://www.gov.uk/"),
           "residence": ("Home Office", "https://www.gov.uk/"),
           "driving_licence": ("Driver and Vehicle Licensing Agency (DVLA)", "https://www.gov.uk/"),
           "*": ("HM Passport Office", "https://www.gov.uk/photos-for-passports")},
    "CA": {"*": ("Immigration, Refugees and Citizenship Canada", "https://www.canada.ca/")},
    "AU": {"visa": ("Department of Home Affairs", "https://immi.homeaffairs.gov.au/"),
           "government": ("Department of Home Affairs", "https://immi.homeaffairs.gov.au/"),
           "id_card": ("State and territory road and transport agencies (photo cards)", None),
           "driving_licence": ("State and territory road and transport agencies", None),
           "*": ("Australian Passport Office, Department of Foreign Affairs and Trade", "https://www.passports.gov.au/")},
    "IN": {"passport": ("Ministry of External Affairs, Passport Seva", "https://www.passportindia.gov.in/"),
           "government": ("Ministry of External Affairs / Ministry of Home Affairs", None),
           "id_card": ("Government of India (Income Tax Department; Election Commission of India)", None),
           "driving_licence": ("Ministry of Road Transport and Highways (Parivahan)", "https://parivahan.gov.in/"),
           "*": ("Government of India", None)},
    "AE": {"*": ("Federal Authority for Identity, Citizenship, Customs and Port Security (ICP)", "https://icp.gov.ae/")},
    "DE": {"visa": ("Federal Foreign Office (Auswärtiges Amt)", "https://www.auswaertiges-amt.de/"),
           "*": ("Federal Ministry of the Interior; Bundesdruckerei photo template", "https://www.bundesdruckerei.de/")},
    "JP": {"residence": ("Immigration Services Agency of Japan", "https://www.moj.go.jp/isa/"),
           "id_card": ("Japan Agency for Local Authority Information Systems (My Number Card)", None),
           "*": ("Ministry of Foreign Affairs of Japan", "https://www.mofa.go.jp/")},
    "BR": {"visa": ("Ministry of Foreign Affairs (Itamaraty)", "https://www.gov.br/mre/"),
           "*": ("Polícia Federal", "https://www.gov.br/pf/")},
    "MX": {"*": ("Secretaría de Relaciones Exteriores", "https://www.gob.mx/sre")},
    "CN": {"*": ("National Immigration Administration of the People's Republic of China", "https://www.nia.gov.cn/")},
    "FR": {"visa": ("France-Visas, Ministry for Europe and Foreign Affairs", "https://france-visas.gouv.fr/"),
           "*": ("Agence nationale des titres sécurisés (ANTS)", "https://ants.gouv.fr/")},
    "ES": {"visa": ("Ministry of Foreign Affairs, European Union and Cooperation", "https://www.exteriores.gob.es/"),
           "*": ("Policía Nacional (DNI and passport)", "https://www.dnielectronico.es/")},
    "IT": {"id_card": ("Ministry of the Interior (Carta d'Identità Elettronica)",
                       "https://www.cartaidentita.interno.gov.it/"),
           "visa": ("Ministry of Foreign Affairs and International Cooperation", "https://vistoperitalia.esteri.it/"),
           "*": ("Polizia di Stato", "https://www.poliziadistato.it/")},
    "NL": {"*": ("Government of the Netherlands (Rijksoverheid), photo matrix", "https://www.rijksoverheid.nl/")},
    "HK": {"*": ("Immigration Department, Hong Kong SAR", "https://www.immd.gov.hk/")},
    "TW": {"*": ("Bureau of Consular Affairs, Ministry of Foreign Affairs", "https://www.boca.gov.tw/")},
    "SG": {"*": ("Immigration & Checkpoints Authority (ICA)", "https://www.ica.gov.sg/")},
    "NZ": {"visa": ("Immigration New Zealand", "https://www.immigration.govt.nz/"),
           "*": ("Department of Internal Affairs, Passports", "https://www.passports.govt.nz/")},
    "IE": {"*": ("Department of Foreign Affairs, Passport Service", "https://www.dfa.ie/")},
    "KR": {"*": ("Ministry of Foreign Affairs, Republic of Korea", "https://www.passport.go.kr/")},
    "EU": {"*": ("European Union, Visa Code (Regulation (EC) No 810/2009) and ICAO Doc 9303",
                 "https://www.icao.int/publications/pages/publication.aspx?docnum=9303")},
}


def _also(country: str, categories: tuple[str, ...], who: str, url: str) -> None:
    for category in categories:
        AUTHORITIES.setdefault(country, {})[category] = (who, url)


_PASS_ID = ("passport", "id_card")
_also("AT", _PASS_ID, "Government of Austria (oesterreich.gv.at)", "https://www.oesterreich.gv.at/")
_also("BE", ("passport", "visa"), "Federal Public Service Foreign Affairs", "https://diplomatie.belgium.be/")
_also("CH", _PASS_ID, "Federal Office of Police fedpol (Swiss passport and identity card)",
      "https://www.schweizerpass.admin.ch/")
_also("CH", ("visa",), "State Secretariat for Migration (SEM)", "https://www.sem.admin.ch/")
_also("DK", _PASS_ID, "Government of Denmark (borger.dk)", "https://www.borger.dk/")
_also("DK", ("visa",), "Danish Agency for International Recruitment and Integration", "https://www.nyidanmark.dk/")
_also("FI", ("passport", "id_card", "driving_licence"), "Finnish Police", "https://poliisi.fi/")
_also("FI", ("visa", "residence"), "Finnish Immigration Service (Migri)", "https://migri.fi/")
_also("NO", ("passport",), "Norwegian Police", "https://www.politiet.no/")
_also("NO", ("visa",), "Norwegian Directorate of Immigration (UDI)", "https://www.udi.no/")
_also("SE", _PASS_ID, "Swedish Police Authority", "https://polisen.se/")
_also("SE", ("visa",), "Swedish Migration Agency", "https://www.migrationsverket.se/")
_also("PL", _PASS_ID + ("visa", "residence"), "Government of Poland (gov.pl)", "https://www.gov.pl/")
_also("CZ", _PASS_ID, "Ministry of the Interior of the Czech Republic", "https://www.mvcr.cz/")
_also("SK", _PASS_ID, "Ministry of the Interior of the Slovak Republic", "https://www.minv.sk/")
_also("SI", ("passport",), "Government of Slovenia (gov.si)", "https://www.gov.si/")
_also("HR", _PASS_ID, "Ministry of the Interior of Croatia", "https://mup.gov.hr/")
_also("EE", _PASS_ID, "Police and Border Guard Board", "https://www.politsei.ee/")
_also("LV", ("passport",), "Office of Citizenship and Migration Affairs", "https://www.pmlp.gov.lv/")
_also("LT", ("passport",), "Migration Department under the Ministry of the Interior", "https://www.migracija.lt/")
_also("IS", _PASS_ID, "Registers Iceland (Þjóðskrá)", "https://www.skra.is/")
_also("UA", _PASS_ID, "State Migration Service of Ukraine", "https://dmsu.gov.ua/")
_also("TR", _PASS_ID, "General Directorate of Population and Citizenship Affairs", "https://www.nvi.gov.tr/")
_also("IL", _PASS_ID + ("visa",), "Government of Israel (gov.il)", "https://www.gov.il/")
_also("ZA", _PASS_ID + ("visa",), "Department of Home Affairs", "https://www.dha.gov.za/")
_also("NG", ("passport", "visa"), "Nigeria Immigration Service", "https://immigration.gov.ng/")
_also("MY", ("passport", "visa"), "Immigration Department of Malaysia", "https://www.imi.gov.my/")
_also("ID", ("passport", "visa"), "Directorate General of Immigration", "https://www.imigrasi.go.id/")
_also("PK", ("passport",), "Directorate General of Immigration and Passports", "https://www.dgip.gov.pk/")
_also("PK", ("id_card",), "National Database and Registration Authority (NADRA)", "https://www.nadra.gov.pk/")
_also("BD", ("passport",), "Department of Immigration and Passports", "https://www.epassport.gov.bd/")
_also("LK", ("passport",), "Department of Immigration and Emigration", "https://www.immigration.gov.lk/")
_also("LK", ("visa",), "Department of Immigration and Emigration (ETA)", "https://www.eta.gov.lk/")
_also("KH", ("visa",), "Ministry of Foreign Affairs and International Cooperation (e-Visa)", "https://www.evisa.gov.kh/")
_also("AZ", ("visa",), "ASAN Visa (e-Visa of the Republic of Azerbaijan)", "https://evisa.gov.az/")
_also("AR", _PASS_ID + ("visa",), "Government of Argentina (argentina.gob.ar)", "https://www.argentina.gob.ar/")
_also("CL", ("passport",), "Servicio de Registro Civil e Identificación", "https://www.registrocivil.cl/")
_also("CO", ("passport", "visa"), "Ministry of Foreign Affairs (Cancillería)", "https://www.cancilleria.gov.co/")
_also("PE", ("passport",), "Superintendencia Nacional de Migraciones", "https://www.migraciones.gob.pe/")

# The authority's own rules where they correct or add to the data set, by data set document id.
# "method": "recalled" marks an entry whose figures were set from the authority's published rules.
_US_2IN = {"size_mm": [50.8, 50.8],
           "checks": {"head_length": {"min": "1in", "max": "1.375in"}, "eyes_space_bottom": {"min": "1.125in",
                                                                                           "max": "1.375in"}}}
_CA_50X70 = {"checks": {"head_length": {"min": "31mm", "max": "36mm"}}, "head_crown": "skull", "hair_allowance": "2mm"}
_ICAO_HEAD = {"head_length": {"min": "32mm", "max": "36mm"}}
CORRECTIONS: dict[str, dict[str, Any]] = {
    "uk-visa": {"icao": False, "notes": [
        "No head window beyond the rule defaults: the UK's own photo standard (HM Passport Office: head 29-34 mm) "
        "departs from ICAO's 32-36 mm, and UK Visas and Immigration's figures are not recorded here."]},
    "ireland-public-services-card": {"icao": False, "notes": [
        "Not a travel document: no ICAO head window."]},
    "china-green-card": {"name": "China Foreign Permanent Resident ID Card", "name_zh": "中国外国人永久居留身份证"},
    "us-green-card": {**_US_2IN, "method": "recalled", "notes": [
        "USCIS asks for passport-style photos: 2 x 2 in (50.8 mm), head 1 to 1 3/8 in from the chin to the top of the "
        "hair, eyes 1 1/8 to 1 3/8 in above the bottom edge, white or off-white background."]},
    "kenya-passport": {"size_mm": [50.8, 50.8], "notes": ["2 x 2 in, read as 50.8 mm (the data set writes 51)."]},
    "canada-pr-card": {**_CA_50X70, "method": "recalled",
                       "background_ranges": [{"name": "a light colour", "name_zh": "浅色", "min_lightness": 80,
                                              "max_chroma": 20}],
                       "notes": ["50 x 70 mm as the passport photo; head 31-36 mm from the chin to the natural top of "
                                 "the head (2 mm allowed for hair above it, this project's allowance); white or "
                                 "light-coloured background (read as L* >= 80, C* <= 20)."]},
    "australia-visa": {"method": "recalled", "icao": True, "notes": [
        "35 x 45 mm, head 32-36 mm from the chin to the crown, plain light background."]},
    "taiwan-passport": {"method": "recalled", "icao": True, "notes": [
        "35 x 45 mm; head 3.2-3.6 cm from the chin to the top of the head."]},
    "south-korea-passport": {"method": "recalled", "icao": True, "notes": [
        "35 x 45 mm; head 3.2-3.6 cm from the chin to the top of the head; white background."]},
    "germany-passport": {"method": "recalled", "icao": True, "notes": [
        "35 x 45 mm biometric photo (the Bundesdruckerei template): head 32-36 mm from the chin to the top of the "
        "head; plain, light background, light grey preferred."]},
    "germany-id-card": {"method": "recalled", "icao": True, "notes": [
        "The passport's photo rules: 35 x 45 mm, head 32-36 mm, plain light background."]},
    "france-passport": {"method": "recalled", "icao": True, "background_colors": ["light_gray", "light_blue"],
                        "notes": ["35 x 45 mm, head 32-36 mm; a plain light background (light grey or light blue); "
                                  "a white background is refused."]},
    "france-id-card": {"method": "recalled", "icao": True, "background_colors": ["light_gray", "light_blue"],
                       "notes": ["The passport's photo rules: 35 x 45 mm, head 32-36 mm, plain light grey or light "
                                 "blue background, not white."]},
    "spain-passport": {"method": "recalled", "notes": ["32 x 26 mm (height x width), plain white background."]},
    "spain-dni": {"method": "recalled", "notes": ["32 x 26 mm (height x width), plain white background."]},
    "japan-residence-card": {"method": "recalled", "notes": ["4 x 3 cm (height x width), plain background."]},
    "japan-my-number-card": {"method": "recalled", "notes": ["4.5 x 3.5 cm (height x width), plain background."]},
    "hk-passport": {"method": "recalled", "notes": ["40 x 50 mm, plain white background."]},
    "malaysia-passport": {"method": "recalled", "notes": ["35 x 50 mm, plain white background."]},
    "india-passport": {"method": "recalled", "icao": True, "notes": [
        "4.5 x 3.5 cm (height x width), plain white background."]},
    "india-pan-card": {"method": "recalled", "notes": ["3.5 x 2.5 cm (height x width)."]},
    "turkey-passport": {"method": "recalled", "notes": ["50 x 60 mm biometric photo."]},
    "estonia-passport": {"method": "recalled", "notes": ["40 x 50 mm."]},
    "lithuania-passport": {"method": "recalled", "notes": ["40 x 60 mm."]},
}

# Documents the data set does not list, written here in full (the two bring Luxembourg and
# Liechtenstein in; both issue ICAO 9303 passports with 35 x 45 mm photos).
EXTRA: list[dict[str, Any]] = [
    {"country": "LU", "type": "Passport", "size_mm": [35, 45], "colors": ["white", "light_gray"], "icao": True,
     "authority": ("Ministry of Foreign and European Affairs, Passport Office", "https://guichet.public.lu/"),
     "notes": ["35 x 45 mm biometric photo, head 32-36 mm (ICAO Doc 9303), plain light background."]},
    {"country": "LI", "type": "Passport", "size_mm": [35, 45], "colors": ["white", "light_gray"], "icao": True,
     "authority": ("Immigration and Passport Office (Ausländer- und Passamt)", "https://www.llv.li/"),
     "notes": ["35 x 45 mm biometric photo, head 32-36 mm (ICAO Doc 9303), plain light background."]},
]

ICAO_HEAD = _ICAO_HEAD
