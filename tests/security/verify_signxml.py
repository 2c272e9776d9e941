"""Verifies a signed spolis-adapter answer with signxml (an independent XML-DSig verifier).

Usage: verify_signxml.py ANSWER.xml CA.pem
Exit 0 and print the local names of the signed elements when the signature verifies against
a certificate issued by CA.pem and covers exactly the SOAP Body and the wsu:Timestamp; exit 1
with the reason otherwise.
"""
import sys

from lxml import etree
from signxml import XMLVerifier

answer_path, ca_path = sys.argv[1], sys.argv[2]
with open(answer_path, "rb") as f:
    data = f.read()
try:
    results = XMLVerifier().verify(data, ca_pem_file=ca_path, expect_references=2)
except Exception as error:  # noqa: BLE001 - any failure is a verification failure
    print(f"signxml: {type(error).__name__}: {error}")
    sys.exit(1)
names = sorted(etree.QName(r.signed_xml).localname for r in results)
if names != ["Body", "Timestamp"]:
    print(f"signxml: signed {names}, expected Body and Timestamp")
    sys.exit(1)
print(" ".join(names))
