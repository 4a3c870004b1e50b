"""Job titles as a seller reads them: one spelling per title, a seniority level and a department.

CRM and enrichment exports spell one title many ways ("C.F.O.", "Chief Financial Officer", "cfo";
"VP, Sales", "Vice President of Sales", "vp sales"; "Sr. RevOps Mgr"). Personas count titles, so
each spelling is first reduced to one canonical title, then classified by a documented taxonomy:

Seniority (first rule that matches, in this order):

| level | titles |
|---|---|
| Intern | intern, trainee, working student, apprentice |
| Executive | a C-level officer (CEO, CFO, COO, CTO, CIO, CMO, CRO, CISO, Chief ... Officer), founder, owner, \
president, managing director, (managing / senior) partner |
| VP | VP, SVP, EVP, AVP, vice president |
| Head | head of a function |
| Director | director (incl. senior / group / regional director), general manager |
| Manager | manager, lead, team lead, supervisor |
| Individual contributor | everyone else (account executives, representatives, analysts, engineers, specialists, \
administrators, assistants to an executive) |

Department (first rule that matches): a C-level acronym's function (CFO: Finance, CRO: Sales, CTO:
Engineering, CIO and CISO: IT & Security, CMO: Marketing, COO: Operations, CEO: General
Management), then the function words: Revenue Operations (revenue, sales or marketing operations,
sales systems, CRM), Customer Success & Support, Procurement, Finance, Legal & Compliance, Human
Resources, Data & Analytics, IT & Security, Engineering, Product, Design, Marketing, Sales,
Operations, General Management (founders, owners, presidents, managing directors without a
function), else Other. The levels follow the seniority scale enrichment tools use (Apollo,
LinkedIn Sales Navigator), merged where a seller acts the same way on both.

Titles in German, French, Spanish, Portuguese, Italian, Dutch and the Nordic languages get the same levels and
departments (EXECUTIVE_ABROAD ... DEPARTMENTS_ABROAD): Geschäftsführer, PDG, directeur général, VD ->
Executive; Leiter / -leiter, hoofd, jefe de -> Head; directeur, direttore, direktør, Prokurist -> Director;
Teamleiter, Projektmanager, responsable, chef de, gerente, -chef -> Manager. A title none of the rules reads is
an individual contributor, so a language the rules do not know reads as junior: add its words here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

SENIORITY_LEVELS = ("Executive", "VP", "Head", "Director", "Manager", "Individual contributor", "Intern")
DEPARTMENTS = (
    "General Management",
    "Revenue Operations",
    "Customer Success & Support",
    "Procurement",
    "Finance",
    "Legal & Compliance",
    "Human Resources",
    "Data & Analytics",
    "IT & Security",
    "Engineering",
    "Product",
    "Design",
    "Marketing",
    "Sales",
    "Operations",
    "Other",
)

# "Chief <function> Officer" written out -> its acronym, where the acronym is unambiguous
CHIEF_OFFICERS = (
    ("executive", "CEO"),
    ("financial", "CFO"),
    ("finance", "CFO"),
    ("operating", "COO"),
    ("operations", "COO"),
    ("technology", "CTO"),
    ("technical", "CTO"),
    ("information security", "CISO"),
    ("information", "CIO"),
    ("marketing", "CMO"),
    ("revenue", "CRO"),
)
ACRONYM_DEPARTMENT = {
    "CEO": "General Management",
    "CFO": "Finance",
    "COO": "Operations",
    "CTO": "Engineering",
    "CIO": "IT & Security",
    "CISO": "IT & Security",
    "CMO": "Marketing",
    "CRO": "Sales",
    "CDO": "Data & Analytics",
    "CHRO": "Human Resources",
    "CPO": "Product",
}
# word-level abbreviations (matched on whole words, case-insensitively, a trailing dot allowed)
ABBREVIATIONS = {
    "sr": "Senior",
    "snr": "Senior",
    "jr": "Junior",
    "mgr": "Manager",
    "mngr": "Manager",
    "dir": "Director",
    "exec": "Executive",
    "acct": "Account",
    "mktg": "Marketing",
    "mkt": "Marketing",
    "ops": "Operations",
    "revops": "Revenue Operations",
    "salesops": "Sales Operations",
    "mops": "Marketing Operations",
    "bizops": "Business Operations",
    "bizdev": "Business Development",
    "eng": "Engineering",
    "engr": "Engineer",
    "admin": "Administrator",
    "sec": "Security",
    "mgmt": "Management",
    "svcs": "Services",
    "coord": "Coordinator",
    "asst": "Assistant",
    "assoc": "Associate",
    "spec": "Specialist",
    "rep": "Representative",
    "repr": "Representative",
    "sfdc": "Salesforce",
    "ae": "Account Executive",
    "sdr": "Sales Development Representative",
    "bdr": "Business Development Representative",
    "csm": "Customer Success Manager",
    "md": "Managing Director",
    "gm": "General Manager",
    "vice-president": "VP",
    "intl": "International",
    "dept": "Department",
    "tech": "Technology",
}
ACRONYMS = {
    "VP",
    "SVP",
    "EVP",
    "AVP",
    "CEO",
    "CFO",
    "COO",
    "CTO",
    "CIO",
    "CISO",
    "CMO",
    "CRO",
    "CDO",
    "CHRO",
    "CPO",
    "CCO",
    "CSO",
    "IT",
    "HR",
    "BI",
    "CRM",
    "ERP",
    "GTM",
    "EMEA",
    "APAC",
    "AMER",
    "LATAM",
    "US",
    "UK",
    "PM",
    "QA",
    "UX",
    "UI",
    "II",
    "III",
    "IV",
    "PR",
    "SEO",
    "SaaS",
    "FP&A",
    "AI",
    "ML",
    "PDG",
    "VD",
    "EDV",
}
SMALL_WORDS = {"of", "and", "the", "for", "to", "in", "&", "at", "on", "de", "du", "des", "del", "di", "da", "y"}

# The same levels in the titles of German, French, Spanish, Portuguese, Italian, Dutch and Nordic exports (CRMs of
# European companies keep titles as people write them): Geschäftsführer and PDG are executives, a Leiter or hoofd
# heads a function, a Teamleiter or chef de projet manages a team, a directeur is a director. German compounds put
# the level last (Einkaufsleiter, Projektmanager), so those patterns match at a word's end.
EXECUTIVE_ABROAD = (
    r"gesch(ä|ae)ftsf(ü|ue)hrer(in)?\b|\bvorstand\w*|\binhaber(in)?\b|\bpdg\b|\bpr(é|e)sident(e)?[- ]directeur|"
    r"\bdirect(eur|rice) g(é|e)n(é|e)ral(e)?\b|\bg(é|e)rant(e)?\b|\bconsejer[oa] delegad[oa]\b|"
    r"\bdirector(a)? (of )?general$|\bamministratore delegato\b|\bdirettore generale\b|\balgemeen directeur\b|\bvd\b|\bverkst(ä|a)llande direkt(ö|o)r\b|"
    r"\badm(inistrerende|\.)? ?direkt(ø|o)r\b|\btoimitusjohtaja\b"
)
HEAD_ABROAD = r"\bleiter(in)?\b|\w+leiter(in)?\b|\bhoofd\b|\bjef[ea] de\b|\bresponsabile\b"
DIRECTOR_ABROAD = (
    r"\b(directeur|directrice|directora|diretor(a)?|direttore|direttrice|direkt(ø|ö|o)r|johtaja|prokurist(in)?)\b"
)
MANAGER_ABROAD = (
    r"\b(team|gruppen|schicht|projekt)leiter(in)?\b|\bresponsable\b|\bchef(fe)? de\b|\bgerente\b|\bteamleider\b|"
    r"\bleidinggevende\b|\bp(ä|a)(ä|a)llikk(ö|o)\b|\w*chef\b|\bleder\b"
)

SENIORITY_RULES = (
    (
        "Individual contributor",
        r"\b(assistant|aide|secretary) to\b|\bexecutive assistant\b|"
        r"\baccount executive\b|\bsales executive\b",
    ),
    (
        "Intern",
        r"\b(intern|internship|trainee|working student|werkstudent|apprentice|praktikant(in)?|stagiaire|becari[oa])\b",
    ),
    (
        "Executive",
        r"\b(c[a-z]{1,2}o|chief [a-z ]+ officer|chief|co-?founder|founder|owner|managing director)\b|"
        r"(?<!vice )\bpresident\b|^(managing |senior |equity |founding )?partner$|" + EXECUTIVE_ABROAD,
    ),
    ("VP", r"\b(vp|svp|evp|avp)\b"),
    ("Manager", MANAGER_ABROAD),  # before Head: Teamleiter is a manager though it ends in -leiter
    ("Head", r"\bhead\b|" + HEAD_ABROAD),
    ("Director", r"\b(director|general manager)\b|" + DIRECTOR_ABROAD),
    ("Manager", r"\b(manager|lead|leader|supervisor)\b|\w+manager(in)?\b"),
)
DEPARTMENT_RULES: tuple[tuple[str, str], ...] = (
    (
        "Revenue Operations",
        r"\b(revenue|sales|marketing|go to market|gtm) operations\b|\bsales systems\b|"
        r"\bsales strategy\b|\bcrm\b|\bsalesforce\b|\bhubspot\b|\bdeal desk\b",
    ),
    (
        "Customer Success & Support",
        r"\bcustomer (success|support|experience|care|service)|\bclient services?\b|"
        r"\bsupport\b|\bonboarding\b|\bimplementation\b",
    ),
    ("Procurement", r"\b(procurement|purchasing|sourcing|buyer|vendor management)\b"),
    (
        "Finance",
        r"\b(finance|financial|accounting|accountant|controller|treasury|fp&a|tax|audit|payroll|risk|"
        r"billing)\b",
    ),
    ("Legal & Compliance", r"\b(legal|counsel|compliance|attorney|lawyer|paralegal|privacy|regulatory)\b"),
    ("Human Resources", r"\b(hr|human resources|people|talent|recruit(er|ing)?|recruitment|hiring)\b"),
    ("Data & Analytics", r"\b(data|analytics|business intelligence|bi|insights|machine learning|ml|ai)\b"),
    (
        "IT & Security",
        r"\b(it|information technology|security|infosec|systems|network|infrastructure|"
        r"administrator|helpdesk|help desk)\b",
    ),
    (
        "Engineering",
        r"\b(engineer|engineering|developer|software development|software|devops|architect|technology|"
        r"technical|qa)\b",
    ),
    ("Product", r"\b(product)\b"),
    ("Design", r"\b(design|designer|ux|ui|creative)\b"),
    (
        "Marketing",
        r"\b(marketing|brand|growth|demand generation|content|communications|pr|seo|digital|events|"
        r"campaigns?)\b",
    ),
    (
        "Sales",
        r"\b(sales|account executive|account manager|account director|business development|revenue|"
        r"partnerships|channel|relationship manager|commercial|key account)\b",
    ),
    (
        "Operations",
        r"\b(operations|operating|logistics|supply chain|project|program|office manager|"
        r"facilities)\b",
    ),
    (
        "General Management",
        r"\b(ceo|founder|co-founder|owner|president|managing director|general manager|"
        r"partner|principal)\b",
    ),
)

# The departments' words in the European languages whose titles the seniority rules read (German compounds put the
# function first: Einkaufsleiter, Vertriebsleiterin, so those match at a word's start).
DEPARTMENTS_ABROAD = {
    "Procurement": r"einkauf|\bachats?\b|\bcompras?\b|\binkoop\b|\bacquisti\b|ink(ö|o)p|hankinta",
    "Finance": r"finanz|buchhaltung|rechnungswesen|\bcontrolling\b|comptab|\bfinanci(er|ère|ero|era)\b|contabilidad|"
    r"\bekonomi",
    "Human Resources": r"\bpersonal(abteilung|leiter\w*|referent\w*|wesen|chef\w*)\b|\bleiter(in)? personal$|\bressources humaines\b|\brecursos humanos\b|"
    r"\brrhh\b|\bpersoneelszaken\b",
    "IT & Security": r"\binformatik\b|\binformatique\b|\binform(á|a)tica\b|\bedv\b",
    "Engineering": r"entwicklung|ing(é|e)nieur|\bingeniero",
    "Marketing": r"\bkommunikation\b|\bcommunication\b|\bcomunicaci(ó|o)n\b",
    "Sales": r"vertrieb|verkauf|\bventes?\b|\bventas\b|\bverkoop\b|\bvendite\b|f(ö|o)rs(ä|a)ljning",
    "Operations": r"logisti|produktion|\bproduction\b|producci(ó|o)n|\bplant\b|\bwarehouse\b|\bmanufacturing\b|"
    r"\bwerks?leit|\blager|\bfertigung\b|\bbetrieb\b|projekt|\bprojet\b|\bproyectos?\b|\bprogett",
    "General Management": r"gesch(ä|ae)ftsf(ü|ue)hr|vorstand|\binhaber|\bpdg\b|\bdirect(eur|rice) g(é|e)n(é|e)ral|"
    r"\bdirector(a)? (of )?general$|\bdirettore generale\b|\balgemeen directeur\b|\btoimitusjohtaja\b|\bvd\b",
}
DEPARTMENT_RULES = tuple(
    (name, f"{pattern}|{DEPARTMENTS_ABROAD[name]}" if name in DEPARTMENTS_ABROAD else pattern)
    for name, pattern in DEPARTMENT_RULES
)


def _expand_chief(match: re.Match) -> str:
    words = re.sub(r"\s+", " ", match.group(1).lower().strip())
    for function, acronym in CHIEF_OFFICERS:
        if words == function:
            return acronym
    return match.group(0)


def _case(word: str) -> str:
    if "-" in word.strip("-"):
        return "-".join(_case(part) for part in word.split("-"))
    upper = word.upper()
    for acronym in ACRONYMS:
        if upper == acronym.upper():
            return acronym
    if word.lower() in SMALL_WORDS:
        return word.lower()
    if any(c.isupper() for c in word[1:]) and any(c.islower() for c in word):
        return word  # a brand's own casing: HubSpot, DevOps, RevOps
    return word[:1].upper() + word[1:].lower()


@lru_cache(maxsize=65_536)  # titles repeat: each distinct spelling is worked out once
def normalise_title(title: str | None) -> str | None:
    """One spelling per title: "C.F.O." / "Chief Financial Officer" / "cfo" -> "CFO"; "VP, Sales" /
    "Vice President of Sales" -> "VP Sales"; "Sr. RevOps Mgr" -> "Senior Revenue Operations Manager";
    "Dir. of Rev Ops" / "Director, Revenue Operations" -> "Director of Revenue Operations".

    None or blank -> None. Pure string work: called once per distinct title.
    """
    if not title or not title.strip():
        return None
    text = unicodedata.normalize("NFKC", title).replace("\u200b", "")
    # "Chief Revenue Officer (CRO)": the parenthesis repeats or qualifies; the title is what stands outside it
    text = re.sub(r"\s*\([^)]*\)", " ", text)
    # dotted acronyms: C.F.O. -> CFO, V.P. -> VP
    text = re.sub(r"\b((?:[A-Za-z]\.){2,})(?=\s|$|,)", lambda m: m.group(1).replace(".", "").upper(), text)
    text = re.sub(r"\brev\.?\s*ops\b", "Revenue Operations", text, flags=re.IGNORECASE)
    text = re.sub(r"\bsales\s+ops\b", "Sales Operations", text, flags=re.IGNORECASE)
    text = re.sub(r"\bvice[\s-]+president\b", "VP", text, flags=re.IGNORECASE)
    text = re.sub(r"\bchief\s+([a-z ]+?)\s+officer\b", _expand_chief, text, flags=re.IGNORECASE)
    text = re.sub(r"\s*[,/|;:]\s*|\s+[-–—]\s+", " , ", text)
    words = []
    for token in text.split():
        bare = token.rstrip(".")
        words.append(ABBREVIATIONS.get(bare.lower(), bare))
    text = " ".join(words)
    text = re.sub(r"\b(VP|SVP|EVP|AVP)\s*,?\s*(?:of\s+)?", r"\1 ", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(Head|Director)\s*,?\s+(?:of\s+)?(?=[A-Za-z])(?!of\b)", r"\1 of ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*,\s*", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,-")
    cased = " ".join(_case(w) for w in text.split())
    return cased or None


def seniority_of(title: str | None) -> str:
    """The seniority level (one of SENIORITY_LEVELS) of a title, raw or normalised."""
    low = (normalise_title(title) or "").lower()
    return next((level for level, pattern in SENIORITY_RULES if re.search(pattern, low)), "Individual contributor")


def department_of(title: str | None) -> str:
    """The department (one of DEPARTMENTS) of a title, raw or normalised."""
    clean = normalise_title(title) or ""
    low = clean.lower()
    if re.search(r"\b(assistant|aide|secretary) to\b|\bexecutive assistant\b", low):
        return "Operations"
    acronym = next((w for w in clean.split() if w in ACRONYM_DEPARTMENT), None)
    if acronym and not re.search(r"\b(vp|svp|evp|head|director|manager)\b", low):
        return ACRONYM_DEPARTMENT[acronym]
    return next((name for name, pattern in DEPARTMENT_RULES if re.search(pattern, low)), "Other")
