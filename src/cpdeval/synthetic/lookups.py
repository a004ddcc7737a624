"""Static lookups for the synthetic generator: local authorities, GIAS labels, name parts, size presets.

Everything here is public, non-personal reference material (DfE LA codes and names, GIAS code-list
labels) or invented name fragments. The measure map, survey instruments and year settings are *not*
repeated here: the generator reads them from ``config/`` and ``schemas/`` at run time.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Size presets. ``schools`` counts schools (a school keeps one entry across URN changes).
# --------------------------------------------------------------------------------------------------
SIZES: dict[str, dict] = {
    "small": {
        "schools": 600,
        "las": [392, 352, 888, 383, 891, 330, 919, 206, 306, 886, 936, 878],
        "partnerships": 16,
        "bookings_per_year": 5000,
        "surveys": {"participant_impact": 120, "practitioner_leader": 80, "subject_leader": 100,
                    "event_feedback": 1500},
        "default_survey_n": 150,
        "anomalies": {"cycle": 1, "missing_twin": 1, "dangling": 1},
        "chains": 3, "mergers": 2, "lead_changes": 2, "duplicate_name_pairs": 3,
    },
    "national": {
        "schools": 24000,
        "las": None,                       # every LA in LA_TABLE
        "partnerships": 50,
        "bookings_per_year": 150000,
        "surveys": {"participant_impact": 15000, "practitioner_leader": 1200, "subject_leader": 1500,
                    "event_feedback": 20000},
        "default_survey_n": 2000,
        "anomalies": {"cycle": 3, "missing_twin": 5, "dangling": 3},
        "chains": 40, "mergers": 40, "lead_changes": 6, "duplicate_name_pairs": 60,
    },
}
# Four times the national booking and survey volume on the same schools: the scaling benchmark's largest year
# (benchmarks/run_pipeline.py --size national_x4; docs/scaling.md).
SIZES["national_x4"] = {**SIZES["national"], "bookings_per_year": 4 * SIZES["national"]["bookings_per_year"],
                        "surveys": {k: 4 * v for k, v in SIZES["national"]["surveys"].items()},
                        "default_survey_n": 4 * SIZES["national"]["default_survey_n"]}

# Growth of booking volume over the delivery years (mean 1): the programme grows year on year.
YEAR_GROWTH = [0.84, 0.92, 1.0, 1.08, 1.16]

# --------------------------------------------------------------------------------------------------
# Local authorities: (code, name, GOR name, postcode area, metropolitan?)
# --------------------------------------------------------------------------------------------------
_NE, _NW, _YH = "North East", "North West", "Yorkshire and the Humber"
_EM, _WM, _EE = "East Midlands", "West Midlands", "East of England"
_LO, _SE, _SW = "London", "South East", "South West"
GORS = [_NE, _NW, _YH, _EM, _WM, _EE, _LO, _SE, _SW]

LA_TABLE: list[tuple[int, str, str, str, bool]] = [
    (841, "Darlington", _NE, "DL", False), (840, "County Durham", _NE, "DH", False),
    (805, "Hartlepool", _NE, "TS", False), (806, "Middlesbrough", _NE, "TS", False),
    (807, "Redcar and Cleveland", _NE, "TS", False), (808, "Stockton-on-Tees", _NE, "TS", False),
    (390, "Gateshead", _NE, "NE", True), (391, "Newcastle upon Tyne", _NE, "NE", True),
    (392, "North Tyneside", _NE, "NE", True), (929, "Northumberland", _NE, "NE", False),
    (393, "South Tyneside", _NE, "NE", True), (394, "Sunderland", _NE, "SR", True),
    (889, "Blackburn with Darwen", _NW, "BB", False), (890, "Blackpool", _NW, "FY", False),
    (909, "Cumbria", _NW, "CA", False), (888, "Lancashire", _NW, "PR", False),
    (350, "Bolton", _NW, "BL", True), (351, "Bury", _NW, "BL", True), (352, "Manchester", _NW, "M", True),
    (353, "Oldham", _NW, "OL", True), (354, "Rochdale", _NW, "OL", True), (355, "Salford", _NW, "M", True),
    (356, "Stockport", _NW, "SK", True), (357, "Tameside", _NW, "SK", True), (358, "Trafford", _NW, "M", True),
    (359, "Wigan", _NW, "WN", True), (895, "Cheshire East", _NW, "CW", False),
    (896, "Cheshire West and Chester", _NW, "CH", False), (876, "Halton", _NW, "WA", False),
    (340, "Knowsley", _NW, "L", True), (341, "Liverpool", _NW, "L", True), (343, "Sefton", _NW, "L", True),
    (342, "St. Helens", _NW, "WA", True), (877, "Warrington", _NW, "WA", False), (344, "Wirral", _NW, "CH", True),
    (811, "East Riding of Yorkshire", _YH, "HU", False), (810, "Kingston upon Hull, City of", _YH, "HU", False),
    (812, "North East Lincolnshire", _YH, "DN", False), (813, "North Lincolnshire", _YH, "DN", False),
    (815, "North Yorkshire", _YH, "YO", False), (816, "York", _YH, "YO", False),
    (370, "Barnsley", _YH, "S", True), (380, "Bradford", _YH, "BD", True), (381, "Calderdale", _YH, "HX", True),
    (371, "Doncaster", _YH, "DN", True), (382, "Kirklees", _YH, "HD", True), (383, "Leeds", _YH, "LS", True),
    (372, "Rotherham", _YH, "S", True), (373, "Sheffield", _YH, "S", True), (384, "Wakefield", _YH, "WF", True),
    (831, "Derby", _EM, "DE", False), (830, "Derbyshire", _EM, "DE", False), (892, "Nottingham", _EM, "NG", False),
    (891, "Nottinghamshire", _EM, "NG", False), (856, "Leicester", _EM, "LE", False),
    (855, "Leicestershire", _EM, "LE", False), (925, "Lincolnshire", _EM, "LN", False),
    (928, "Northamptonshire", _EM, "NN", False), (857, "Rutland", _EM, "LE", False),
    (893, "Shropshire", _WM, "SY", False), (860, "Staffordshire", _WM, "ST", False),
    (861, "Stoke-on-Trent", _WM, "ST", False), (894, "Telford and Wrekin", _WM, "TF", False),
    (884, "Herefordshire, County of", _WM, "HR", False), (885, "Worcestershire", _WM, "WR", False),
    (330, "Birmingham", _WM, "B", True), (331, "Coventry", _WM, "CV", True), (332, "Dudley", _WM, "DY", True),
    (333, "Sandwell", _WM, "B", True), (334, "Solihull", _WM, "B", True), (335, "Walsall", _WM, "WS", True),
    (937, "Warwickshire", _WM, "CV", False), (336, "Wolverhampton", _WM, "WV", True),
    (822, "Bedford", _EE, "MK", False), (873, "Cambridgeshire", _EE, "CB", False),
    (823, "Central Bedfordshire", _EE, "LU", False), (919, "Hertfordshire", _EE, "AL", False),
    (821, "Luton", _EE, "LU", False), (874, "Peterborough", _EE, "PE", False), (881, "Essex", _EE, "CM", False),
    (926, "Norfolk", _EE, "NR", False), (882, "Southend-on-Sea", _EE, "SS", False), (935, "Suffolk", _EE, "IP", False),
    (883, "Thurrock", _EE, "RM", False),
    (202, "Camden", _LO, "NW", True), (206, "Islington", _LO, "N", True), (207, "Kensington and Chelsea", _LO, "W", True),
    (208, "Lambeth", _LO, "SE", True), (210, "Southwark", _LO, "SE", True), (212, "Wandsworth", _LO, "SW", True),
    (213, "Westminster", _LO, "W", True), (301, "Barking and Dagenham", _LO, "RM", True), (303, "Bexley", _LO, "DA", True),
    (201, "City of London", _LO, "EC", True), (203, "Greenwich", _LO, "SE", True), (204, "Hackney", _LO, "E", True),
    (311, "Havering", _LO, "RM", True), (209, "Lewisham", _LO, "SE", True), (316, "Newham", _LO, "E", True),
    (317, "Redbridge", _LO, "IG", True), (211, "Tower Hamlets", _LO, "E", True), (302, "Barnet", _LO, "N", True),
    (308, "Enfield", _LO, "EN", True), (309, "Haringey", _LO, "N", True), (320, "Waltham Forest", _LO, "E", True),
    (305, "Bromley", _LO, "BR", True), (306, "Croydon", _LO, "CR", True), (314, "Kingston upon Thames", _LO, "KT", True),
    (315, "Merton", _LO, "SW", True), (318, "Richmond upon Thames", _LO, "TW", True), (319, "Sutton", _LO, "SM", True),
    (304, "Brent", _LO, "HA", True), (307, "Ealing", _LO, "W", True), (205, "Hammersmith and Fulham", _LO, "W", True),
    (310, "Harrow", _LO, "HA", True), (312, "Hillingdon", _LO, "UB", True), (313, "Hounslow", _LO, "TW", True),
    (867, "Bracknell Forest", _SE, "RG", False), (825, "Buckinghamshire", _SE, "HP", False),
    (826, "Milton Keynes", _SE, "MK", False), (931, "Oxfordshire", _SE, "OX", False), (870, "Reading", _SE, "RG", False),
    (871, "Slough", _SE, "SL", False), (869, "West Berkshire", _SE, "RG", False),
    (868, "Windsor and Maidenhead", _SE, "SL", False), (872, "Wokingham", _SE, "RG", False),
    (850, "Hampshire", _SE, "SO", False), (921, "Isle of Wight", _SE, "PO", False), (851, "Portsmouth", _SE, "PO", False),
    (852, "Southampton", _SE, "SO", False), (936, "Surrey", _SE, "GU", False), (938, "West Sussex", _SE, "RH", False),
    (846, "Brighton and Hove", _SE, "BN", False), (845, "East Sussex", _SE, "TN", False), (886, "Kent", _SE, "ME", False),
    (887, "Medway", _SE, "ME", False),
    (839, "Bournemouth, Christchurch and Poole", _SW, "BH", False), (908, "Cornwall", _SW, "TR", False),
    (878, "Devon", _SW, "EX", False), (838, "Dorset", _SW, "DT", False), (420, "Isles of Scilly", _SW, "TR", False),
    (879, "Plymouth", _SW, "PL", False), (933, "Somerset", _SW, "TA", False), (880, "Torbay", _SW, "TQ", False),
    (800, "Bath and North East Somerset", _SW, "BA", False), (801, "Bristol, City of", _SW, "BS", False),
    (916, "Gloucestershire", _SW, "GL", False), (802, "North Somerset", _SW, "BS", False),
    (803, "South Gloucestershire", _SW, "BS", False), (866, "Swindon", _SW, "SN", False), (865, "Wiltshire", _SW, "SN", False),
]

# Large shire counties and big cities hold many more schools than small unitaries.
LA_WEIGHT_BIG = {888: 5, 886: 5.5, 850: 4.5, 881: 4.5, 936: 3.5, 919: 4, 330: 4, 830: 3.3, 891: 2.8,
                 925: 2.8, 926: 3.3, 935: 2.7, 815: 3.1, 909: 2.4, 878: 3.2, 933: 2.2, 916: 2.3, 938: 2.8,
                 860: 3.2, 937: 2.0, 855: 2.2, 928: 2.4, 873: 2.0, 931: 2.3, 908: 2.3, 383: 2.4, 373: 1.6,
                 380: 1.9, 341: 1.5, 352: 1.5, 840: 2.1, 929: 1.6, 825: 1.9, 865: 1.9, 885: 2.0, 893: 1.5,
                 845: 1.6, 895: 1.4, 896: 1.4, 382: 1.6}
LA_WEIGHT_SMALL = {201: 0.05, 420: 0.05, 857: 0.2, 884: 0.9}

# FSM level by region (mean % of pupils eligible, roughly 2019)
GOR_FSM = {_NE: 20.0, _NW: 18.0, _YH: 17.0, _EM: 14.0, _WM: 18.0, _EE: 12.0, _LO: 19.0, _SE: 11.0, _SW: 12.5}
GOR_EAL = {_NE: 7.0, _NW: 14.0, _YH: 15.0, _EM: 14.0, _WM: 20.0, _EE: 13.0, _LO: 45.0, _SE: 11.0, _SW: 7.0}
GOR_RSC = {_NE: "North", _NW: "Lancashire and West Yorkshire", _YH: "East Midlands and the Humber",
           _EM: "East Midlands and the Humber", _WM: "West Midlands", _EE: "East of England and North-East London",
           _LO: "North-West London and South-Central England", _SE: "South-East England and South London",
           _SW: "South-West England"}
# rough grid-reference centre of each region (easting, northing)
GOR_EN = {_NE: (425000, 565000), _NW: (360000, 430000), _YH: (445000, 440000), _EM: (470000, 330000),
          _WM: (395000, 285000), _EE: (560000, 250000), _LO: (530000, 180000), _SE: (480000, 140000),
          _SW: (300000, 100000)}

URBAN_RURAL = [
    "(England/Wales) Urban major conurbation",
    "(England/Wales) Urban minor conurbation",
    "(England/Wales) Urban city and town",
    "(England/Wales) Rural town and fringe",
    "(England/Wales) Rural village",
    "(England/Wales) Rural hamlet and isolated dwellings",
]
URBAN_RURAL_P_METRO = [0.88, 0.03, 0.07, 0.01, 0.01, 0.0]
URBAN_RURAL_P_SHIRE = [0.03, 0.03, 0.52, 0.16, 0.20, 0.06]

OFSTED = ["Outstanding", "Good", "Requires improvement", "Serious Weaknesses", "Special Measures"]

# --------------------------------------------------------------------------------------------------
# School kinds: GIAS phase, type mix (type, share), age ranges (low, high, share), size (median, sd log)
# --------------------------------------------------------------------------------------------------
KIND_SHARES = {
    "primary": 0.68, "secondary": 0.145, "all_through": 0.011, "middle_primary": 0.005,
    "middle_secondary": 0.005, "sixteen_plus": 0.02, "special": 0.045, "nursery": 0.015, "independent": 0.064,
}
KINDS = list(KIND_SHARES)

KIND_PHASE = {
    "primary": "Primary", "secondary": "Secondary", "all_through": "All-through",
    "middle_primary": "Middle deemed primary", "middle_secondary": "Middle deemed secondary",
    "sixteen_plus": "16 plus", "special": "Not applicable", "nursery": "Nursery", "independent": "Not applicable",
}

KIND_TYPES: dict[str, list[tuple[str, float]]] = {
    "primary": [("Community school", 0.43), ("Voluntary aided school", 0.15), ("Voluntary controlled school", 0.10),
                ("Foundation school", 0.05), ("Academy converter", 0.18), ("Academy sponsor led", 0.07),
                ("Free schools", 0.02)],
    "secondary": [("Community school", 0.15), ("Voluntary aided school", 0.08), ("Foundation school", 0.10),
                  ("Voluntary controlled school", 0.01), ("Academy converter", 0.40), ("Academy sponsor led", 0.21),
                  ("Free schools", 0.05)],
    "all_through": [("Academy converter", 0.35), ("Academy sponsor led", 0.25), ("Free schools", 0.2),
                    ("Community school", 0.1), ("Voluntary aided school", 0.1)],
    "middle_primary": [("Community school", 0.5), ("Academy converter", 0.3), ("Voluntary controlled school", 0.2)],
    "middle_secondary": [("Community school", 0.4), ("Academy converter", 0.4), ("Foundation school", 0.2)],
    "sixteen_plus": [("Further education", 0.45), ("Sixth form centres", 0.2), ("Academy 16-19 converter", 0.25),
                     ("Free schools 16 to 19", 0.1)],
    "special": [("Community special school", 0.48), ("Foundation special school", 0.04),
                ("Academy special converter", 0.22), ("Academy special sponsor led", 0.08),
                ("Non-maintained special school", 0.06), ("Free schools special", 0.02),
                ("Other independent special school", 0.10)],
    "nursery": [("Local authority nursery school", 1.0)],
    "independent": [("Other independent school", 1.0)],
}

TYPE_GROUP = {
    "Community school": "Local authority maintained schools", "Voluntary aided school": "Local authority maintained schools",
    "Voluntary controlled school": "Local authority maintained schools", "Foundation school": "Local authority maintained schools",
    "Local authority nursery school": "Local authority maintained schools",
    "Academy converter": "Academies", "Academy sponsor led": "Academies", "Academy 16-19 converter": "Academies",
    "Academy special converter": "Academies", "Academy special sponsor led": "Academies",
    "Free schools": "Free Schools", "Free schools 16 to 19": "Free Schools", "Free schools special": "Free Schools",
    "Community special school": "Special schools", "Foundation special school": "Special schools",
    "Non-maintained special school": "Special schools", "Other independent special school": "Special schools",
    "Other independent school": "Independent schools", "Further education": "Colleges", "Sixth form centres": "Colleges",
}

# DfE performance-table school type codes (NFTYPE)
NFTYPE = {
    "Community school": "CY", "Voluntary aided school": "VA", "Voluntary controlled school": "VC",
    "Foundation school": "FD", "Academy converter": "ACC", "Academy sponsor led": "AC", "Free schools": "F",
    "Academy 16-19 converter": "AC1619", "Free schools 16 to 19": "F1619", "Community special school": "CYS",
    "Foundation special school": "FDS", "Academy special converter": "ACCS", "Academy special sponsor led": "ACS",
    "Free schools special": "FS", "Non-maintained special school": "NMSS", "Other independent special school": "INDSPEC",
    "Other independent school": "IND", "Local authority nursery school": "NUR", "Further education": "FE",
    "Sixth form centres": "SFC",
}

MAINTAINED = {"Community school", "Voluntary aided school", "Voluntary controlled school", "Foundation school",
              "Community special school", "Foundation special school"}
INDEPENDENT_TYPES = {"Other independent school", "Other independent special school"}

# (low age, high age, share)
KIND_AGES: dict[str, list[tuple[int, int, float]]] = {
    "primary": [(4, 11, 0.45), (3, 11, 0.2), (2, 11, 0.05), (5, 11, 0.05), (7, 11, 0.10), (4, 7, 0.09),
                (3, 7, 0.03), (5, 7, 0.03)],
    "secondary": [(11, 16, 0.42), (11, 18, 0.50), (11, 19, 0.05), (13, 18, 0.03)],
    "all_through": [(4, 18, 0.6), (3, 18, 0.2), (4, 16, 0.2)],
    "middle_primary": [(8, 12, 0.6), (9, 12, 0.4)],
    "middle_secondary": [(9, 13, 0.8), (10, 14, 0.2)],
    "sixteen_plus": [(16, 19, 0.7), (16, 99, 0.3)],
    "special": [(2, 19, 0.35), (4, 19, 0.2), (11, 19, 0.25), (5, 16, 0.1), (3, 11, 0.1)],
    "nursery": [(2, 5, 0.6), (3, 5, 0.4)],
    "independent": [(3, 18, 0.3), (4, 11, 0.2), (7, 13, 0.15), (11, 18, 0.2), (2, 19, 0.1), (5, 16, 0.05)],
}

# NumberOfPupils: (median, sd of log)
KIND_SIZE = {
    "primary": (300, 0.5), "secondary": (1000, 0.35), "all_through": (1450, 0.3), "middle_primary": (380, 0.3),
    "middle_secondary": (520, 0.3), "sixteen_plus": (1400, 0.6), "special": (120, 0.5), "nursery": (95, 0.3),
    "independent": (330, 0.7),
}

# --------------------------------------------------------------------------------------------------
# Name parts
# --------------------------------------------------------------------------------------------------
TOWN_HEADS = ["Ash", "Brad", "Chip", "Ches", "Dun", "East", "Farn", "Glen", "Hather", "Kings", "Long", "Mar",
              "New", "North", "Oak", "Pen", "Red", "Shel", "South", "Stan", "Thorn", "Upper", "West", "Whit",
              "Wood", "Brom", "Hal", "Lang", "Mil", "Nor", "Sel", "Walt", "Wy", "Cran", "Hazel", "Elm", "Brack",
              "Sand", "Stock", "Burn", "Hol", "Amber", "Bright", "Fern", "Lich", "Mel", "Ros", "Tad", "Wal", "Ick"]
TOWN_TAILS = ["ton", "ford", "ley", "bury", "field", "ham", "wick", "by", "worth", "stead", "borough",
              "bridge", "den", "well", "combe", "hurst", "minster", "chester", "thorpe", "mouth", "wood", "gate"]
PLACE_FEATURES = ["Park", "Hill", "Green", "Vale", "Meadow", "Brook", "Field", "Lea", "Grange", "Heath", "Moor",
                  "Dale", "Croft", "Mead", "Ridge", "Bank", "Fields", "Gardens", "Lane", "Common"]
PLACE_PREFIX = ["Oak", "Beech", "Willow", "Ash", "Hollins", "Cherry", "Holly", "Elm", "Hazel", "Birch", "Rose",
                "Larch", "Maple", "Pine", "Fir", "Chestnut", "Lime", "Alder", "Rowan", "Yew", "Spring", "Sunny",
                "Wood", "Grove", "Mill", "Kings", "Queens", "Church", "Castle", "Bridge", "Pond", "Fox", "Lark",
                "Hawthorn", "Ivy", "Orchard", "Broad", "High", "Low", "Manor"]
SAINTS = ["Mary", "Joseph", "John", "Peter", "Paul", "Anne", "Michael", "Andrew", "George", "Margaret",
          "Thomas", "Mark", "Luke", "Matthew", "James", "Nicholas", "Bede", "Patrick", "Teresa", "Bernadette",
          "Catherine", "Edmund", "Augustine", "Francis", "Helen", "Stephen", "Lawrence", "Martin", "Bartholomew"]
STREET_TYPES = ["Road", "Lane", "Street", "Avenue", "Way", "Close", "Drive", "Crescent", "Grove", "Hill"]
DIOCESE_CE = ["Diocese of Guildford", "Diocese of Southwark", "Diocese of London", "Diocese of Oxford",
              "Diocese of Chester", "Diocese of Manchester", "Diocese of Leeds", "Diocese of Durham",
              "Diocese of Newcastle", "Diocese of Birmingham", "Diocese of Exeter", "Diocese of Canterbury",
              "Diocese of Rochester", "Diocese of Blackburn", "Diocese of Southwell and Nottingham",
              "Diocese of St Albans", "Diocese of Truro", "Diocese of Bath and Wells"]
DIOCESE_RC = ["Archdiocese of Westminster", "Archdiocese of Southwark", "Diocese of Arundel and Brighton",
              "Archdiocese of Liverpool", "Diocese of Salford", "Diocese of Leeds (RC)", "Diocese of Hexham and Newcastle",
              "Archdiocese of Birmingham", "Diocese of Nottingham", "Diocese of Plymouth", "Diocese of Brentwood"]
FIRST_NAMES = ["Oliver", "Amelia", "Jack", "Olivia", "Harry", "Emily", "George", "Isla", "Charlie", "Ava",
               "Thomas", "Jessica", "James", "Sophie", "William", "Grace", "Daniel", "Lucy", "Joshua", "Ella",
               "Samuel", "Chloe", "David", "Sarah", "Michael", "Rachel", "Peter", "Emma", "Paul", "Hannah",
               "Mohammed", "Aisha", "Ravi", "Priya", "Tomasz", "Agnieszka", "Kwame", "Adaeze", "Sean", "Siobhan",
               "Rhys", "Megan", "Owen", "Laura", "Andrew", "Claire", "Mark", "Helen", "Simon", "Nicola",
               "Stephen", "Karen", "Richard", "Joanne", "Chloé", "Zoë", "Renée", "José", "Siân", "Anaïs"]
LAST_NAMES = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
              "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
              "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
              "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James",
              "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell",
              "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller",
              "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum",
              "Ali", "Hussain", "O'Brien", "Nowak", "Okafor", "Mensah", "Chen", "Nguyen", "Brontë", "Ainsworth"]
NON_SCHOOL_ORGS = ["Self-employed tutor", "Bright Sparks Tuition Ltd", "Home educator", "Supply teacher (agency)",
                   "Science Discovery Centre", "Unknown", "n/a", "Freelance science consultant",
                   "Ysgol Gyfun Cwm Rhondda", "St Columba's High School, Fife", "Local Museum Learning Team",
                   "STEM Ambassador Hub", "University outreach office", "Private tutor"]
NON_SCHOOL_POSTCODES = ["CF40 1XX", "KY11 8XX", "", "", "", "LL57 2PZ", "EH9 3JL", "", "SA1 8PP"]

# Activity catalogue
ACTIVITY_TYPES = ["Course", "Bespoke / In-school", "Network Meeting", "Conference", "Leading CPD Training",
                  "Online Course"]
# pool mix by provider: probability of each activity type (bespoke is handled separately)
POOL_MIX = {
    "national": {"Course": 0.61, "Online Course": 0.29, "Conference": 0.08, "Leading CPD Training": 0.02},
    "regional": {"Course": 0.595, "Network Meeting": 0.25, "Conference": 0.06, "Leading CPD Training": 0.015,
                 "Online Course": 0.08},
    "other": {"Course": 0.7, "Conference": 0.3},
}
SUBJECT_TOPICS = ["Working scientifically in the primary classroom", "Practical chemistry for non-specialists",
                  "Teaching physics to non-specialists", "Developing subject leadership in science",
                  "Assessment in primary science", "GCSE required practicals", "Biology: cells and genetics",
                  "Electricity and magnetism", "Energy and the particle model", "Forces and motion",
                  "Science capital teaching approach", "Maths in science", "Literacy in science",
                  "Technician skills: microbiology", "Technician skills: chemistry preparation",
                  "Computing at key stage 2", "Design and technology: mechanisms", "Primary maths mastery",
                  "Outdoor science", "Careers in STEM", "Climate change and sustainability",
                  "Effective feedback in science", "Misconceptions in chemistry", "A level physics practicals",
                  "Early career science teachers", "Engaging girls in physics"]
LEADING_PROGRAMMES = {"regional": "Leading Effective Professional Development",
                      "national": "Teacher and Technician Leader Development Programme"}

# month weights of activity dates within a financial year (April ... March): term-time seasonality
MONTH_WEIGHTS = {4: 0.55, 5: 1.0, 6: 1.1, 7: 0.75, 8: 0.08, 9: 0.8, 10: 1.25, 11: 1.3, 12: 0.6,
                 1: 1.0, 2: 1.0, 3: 1.2}

FEEDBACK_CODES = {
    "practical_ideas": ["Lots of practical ideas I can use straight away", "Hands-on experiments to try in class",
                        "Great ideas to use NOW", "Practical activities with simple equipment"],
    "subject_knowledge": ["Improved my own subject knowledge", "Clear explanations of tricky concepts",
                          "Helped me as a non-specialist", "Updated my understanding of the curriculum"],
    "resources": ["Useful resources and websites", "Pointers to inexpensive resources",
                  "Resources I can share with the department"],
    "networking": ["Sharing practice with teachers from other schools", "Meeting colleagues from local schools",
                   "Good discussion with peers"],
    "confidence": ["I feel more confident teaching this topic", "Boosted my confidence as a new subject lead"],
    "pedagogy": ["Better ways to question pupils", "Ideas on planning for impact", "Lesson structure improvements",
                 "Understanding misconceptions and how to address them"],
    "careers": ["Ideas for linking lessons to STEM careers", "Learning from STEM Ambassadors"],
}
FEEDBACK_CODE_WEIGHTS = {"practical_ideas": 0.5, "subject_knowledge": 0.3, "resources": 0.25, "networking": 0.2,
                         "confidence": 0.2, "pedagogy": 0.25, "careers": 0.05}
CODEBOOK_VERSION = "2019.1"
