"""Certificates (`pytorch2lean.cert.v1`) and their exact checker, the Python twin of the Lean checker."""

from .check import CheckResult, check, check_certificate
from .format import Certificate, CertificateError, dumps, loads

__all__ = ["Certificate", "CertificateError", "CheckResult", "check", "check_certificate", "dumps", "loads"]
