"""Titles: every spelling of one title normalises to one title, with the taxonomy's seniority and department.

The catalogue holds titles as CRM, LinkedIn and Apollo exports spell them (abbreviations, dotted
acronyms, commas, "of", written-out C-level titles, parentheses); each spelling is also tried
lower-cased, upper-cased and with stray spacing, as exports mangle them.
"""

from __future__ import annotations

import pytest

from icp_agent.personas.titles import DEPARTMENTS, SENIORITY_LEVELS, department_of, normalise_title, seniority_of

# canonical title, seniority, department, spellings seen in exports
CATALOGUE = [
    ("CFO", "Executive", "Finance", ["C.F.O.", "Chief Financial Officer", "cfo", "Chief Finance Officer",
                                     "Chief Financial Officer (CFO)"]),
    ("CEO", "Executive", "General Management", ["Chief Executive Officer", "C.E.O.", "ceo", "CEO."]),
    ("CRO", "Executive", "Sales", ["Chief Revenue Officer", "Chief Revenue Officer (CRO)", "C.R.O."]),
    ("CTO", "Executive", "Engineering", ["Chief Technology Officer", "Chief Technical Officer", "c.t.o."]),
    ("CIO", "Executive", "IT & Security", ["Chief Information Officer", "C.I.O."]),
    ("CISO", "Executive", "IT & Security", ["Chief Information Security Officer"]),
    ("CMO", "Executive", "Marketing", ["Chief Marketing Officer", "C.M.O."]),
    ("COO", "Executive", "Operations", ["Chief Operating Officer", "Chief Operations Officer", "C.O.O."]),
    ("VP Sales", "VP", "Sales", ["VP, Sales", "Vice President of Sales", "VP of Sales", "vp sales",
                                 "Vice-President, Sales", "V.P. Sales", "VP - Sales", "Vice President Sales"]),
    ("VP Finance", "VP", "Finance", ["VP, Finance", "Vice President Finance", "VP of Finance"]),
    ("VP Marketing", "VP", "Marketing", ["Vice President, Marketing", "VP of Marketing", "VP Mktg"]),
    ("VP Engineering", "VP", "Engineering", ["VP of Engineering", "Vice President of Engineering", "VP Eng."]),
    ("SVP Sales", "VP", "Sales", ["SVP, Sales", "SVP of Sales", "svp sales"]),
    ("Head of Revenue Operations", "Head", "Revenue Operations",
     ["Head of RevOps", "head of revenue operations", "Head of Rev Ops", "Head, Revenue Operations",
      "Head Revenue Operations"]),
    ("Head of Sales", "Head", "Sales", ["Head Sales", "Head, Sales", "head of sales"]),
    ("Head of Procurement", "Head", "Procurement", ["Head, Procurement", "head of procurement"]),
    ("Head of Data Engineering", "Head", "Data & Analytics", ["Head of Data Eng.", "Head, Data Engineering"]),
    ("Head of Customer Success", "Head", "Customer Success & Support", ["Head of Customer Success",
                                                                       "Head, Customer Success"]),
    ("Director of Revenue Operations", "Director", "Revenue Operations",
     ["Director, Revenue Operations", "Dir. of Rev Ops", "Dir. RevOps", "Director RevOps",
      "Director - Revenue Operations"]),
    ("Director of Sales Systems", "Director", "Revenue Operations", ["Director, Sales Systems",
                                                                     "Dir. Sales Systems"]),
    ("Director of IT", "Director", "IT & Security", ["Director, IT", "Dir. IT", "Director of IT"]),
    ("Director of Business Intelligence", "Director", "Data & Analytics", ["Director, Business Intelligence"]),
    ("Director of Operations", "Director", "Operations", ["Director, Operations", "Dir. of Ops"]),
    ("Managing Director", "Executive", "General Management", ["Managing Dir.", "MD", "managing director"]),
    ("Senior Revenue Operations Manager", "Manager", "Revenue Operations",
     ["Sr. RevOps Mgr", "Sr. RevOps Manager", "Senior RevOps Manager", "Snr Revenue Operations Manager"]),
    ("Revenue Operations Manager", "Manager", "Revenue Operations", ["RevOps Manager", "RevOps Mgr",
                                                                     "Rev Ops Manager"]),
    ("Sales Operations Manager", "Manager", "Revenue Operations", ["Sales Ops Manager", "Sales Ops Mgr"]),
    ("Marketing Operations Manager", "Manager", "Revenue Operations", ["Marketing Ops Manager", "MOps Manager"]),
    ("IT Security Manager", "Manager", "IT & Security", ["IT Sec Manager", "IT Security Mgr"]),
    ("IT Manager", "Manager", "IT & Security", ["IT Mgr", "it manager"]),
    ("Sales Manager", "Manager", "Sales", ["Sales Mgr", "sales manager"]),
    ("Account Manager", "Manager", "Sales", ["Acct Manager", "Acct Mgr", "account manager"]),
    ("Finance Manager", "Manager", "Finance", ["Finance Mgr", "finance manager"]),
    ("Procurement Manager", "Manager", "Procurement", ["Procurement Mgr"]),
    ("Customer Success Manager", "Manager", "Customer Success & Support", ["CSM", "Customer Success Mgr"]),
    ("Account Executive", "Individual contributor", "Sales", ["AE", "Account Exec", "Acct Executive",
                                                              "account executive"]),
    ("Senior Account Executive", "Individual contributor", "Sales", ["Sr. Account Executive", "Sr AE",
                                                                     "Snr. Account Exec"]),
    ("Sales Development Representative", "Individual contributor", "Sales", ["SDR", "Sales Development Rep"]),
    ("Business Development Representative", "Individual contributor", "Sales",
     ["BDR", "Business Development Rep"]),
    ("Sales Representative", "Individual contributor", "Sales", ["Sales Rep", "sales rep."]),
    ("Salesforce Administrator", "Individual contributor", "Revenue Operations",
     ["Salesforce Admin", "SFDC Admin", "SFDC Administrator"]),
    ("Senior Software Engineer", "Individual contributor", "Engineering", ["Sr. Software Engineer",
                                                                           "Sr Software Engr"]),
    ("Data Analyst", "Individual contributor", "Data & Analytics", ["data analyst"]),
    ("Founder", "Executive", "General Management", ["founder", "FOUNDER"]),
    ("Co-Founder", "Executive", "General Management", ["co-founder", "Co-founder"]),
    ("Founder & CEO", "Executive", "General Management", ["Founder & CEO", "founder & ceo"]),
    ("Owner", "Executive", "General Management", ["owner"]),
    ("President", "Executive", "General Management", ["president"]),
    ("Compliance Manager", "Manager", "Legal & Compliance", ["Compliance Mgr"]),
    ("General Counsel", "Individual contributor", "Legal & Compliance", ["general counsel"]),
    ("HR Manager", "Manager", "Human Resources", ["HR Mgr", "hr manager"]),
    ("Marketing Coordinator", "Individual contributor", "Marketing", ["Mktg Coord.", "Marketing Coord"]),
    ("Product Manager", "Manager", "Product", ["Product Mgr", "product manager"]),
    ("Sales Intern", "Intern", "Sales", ["sales intern"]),
    ("Executive Assistant to the CEO", "Individual contributor", "Operations",
     ["Executive Assistant to the CEO", "executive assistant to the ceo"]),
]


def _spellings():
    for canonical, seniority, department, variants in CATALOGUE:
        for spelling in {canonical, *variants}:
            for mangled in {spelling, spelling.lower(), spelling.upper(), f"  {spelling} ",
                            spelling.replace(" ", "  ")}:
                yield pytest.param(mangled, canonical, seniority, department, id=mangled.strip() or "blank")


SPELLINGS = sorted(_spellings())  # sorted: the same test ids in every process (pytest-xdist)


def test_the_catalogue_is_a_few_hundred_spellings():
    assert len(SPELLINGS) >= 300


@pytest.mark.parametrize("spelling, canonical, seniority, department", SPELLINGS)
def test_every_spelling_is_one_title_with_its_seniority_and_department(spelling, canonical, seniority, department):
    assert normalise_title(spelling) == canonical
    assert seniority_of(spelling) == seniority
    assert department_of(spelling) == department


def test_the_taxonomy_is_closed():
    for spelling, *_ in (p.values for p in SPELLINGS):
        assert seniority_of(spelling) in SENIORITY_LEVELS
        assert department_of(spelling) in DEPARTMENTS
    assert seniority_of(None) == "Individual contributor" and department_of("") == "Other"
    assert normalise_title("   ") is None and normalise_title(None) is None


def test_brand_casing_and_vice_president_are_not_confused():
    assert normalise_title("HubSpot admin") == "HubSpot Administrator"
    assert seniority_of("Vice President of Sales") == "VP"  # "president" inside "vice president" is not an executive
    assert normalise_title("VP, Sales & Marketing") == "VP Sales & Marketing"


@pytest.mark.parametrize(
    "title, seniority, department",
    [
        ("Geschäftsführer", "Executive", "General Management"),
        ("Vorstandsvorsitzender", "Executive", "General Management"),
        ("Leiter Logistik", "Head", "Operations"),
        ("Einkaufsleiterin", "Head", "Procurement"),
        ("Teamleiter Vertrieb", "Manager", "Sales"),  # a team's leader, though the word ends in -leiter
        ("Projektmanager", "Manager", "Operations"),
        ("Prokurist", "Director", "Other"),
        ("Sachbearbeiter Einkauf", "Individual contributor", "Procurement"),
        ("Personalleiterin", "Head", "Human Resources"),
        ("PDG", "Executive", "General Management"),
        ("Directrice générale", "Executive", "General Management"),
        ("Directeur commercial", "Director", "Sales"),
        ("Responsable marketing", "Manager", "Marketing"),
        ("Director General", "Executive", "General Management"),
        ("Gerente de ventas", "Manager", "Sales"),
        ("Jefe de compras", "Head", "Procurement"),
        ("Direttore generale", "Executive", "General Management"),
        ("Hoofd inkoop", "Head", "Procurement"),
        ("Inköpschef", "Manager", "Procurement"),
        ("Toimitusjohtaja", "Executive", "General Management"),
        # English stays as it was: "personal" and "general" are English words too
        ("Head of Personal Banking", "Head", "Other"),
        ("Director of General Services", "Director", "Other"),
    ],
)
def test_european_titles_get_their_level_and_department(title, seniority, department):
    """A DACH or French export's titles are not all individual contributors in no department (a new user's
    Dynamics 365 contacts: Geschäftsführer and Leiter Logistik read as junior)."""
    assert (seniority_of(title), department_of(title)) == (seniority, department)
