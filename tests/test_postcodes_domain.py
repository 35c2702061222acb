import doctest

import assetmap.domain.postcodes as postcodes
from assetmap.domain.postcodes import normalise_outward, normalise_postcode


def test_doctests():
    assert doctest.testmod(postcodes).failed == 0


def test_normalise_postcode_forms():
    assert normalise_postcode("sy111pw") == "SY11 1PW"
    assert normalise_postcode("OL1 1AA") == "OL1 1AA"
    assert normalise_postcode("EC1A 1BB") == "EC1A 1BB"
    assert normalise_postcode("W1A0AX") == "W1A 0AX"
    for bad in ["", None, "SY11", "11 1PW", "SY11 1P", "SY11 1PWX", "<script>"]:
        assert normalise_postcode(bad) is None


def test_normalise_outward():
    assert normalise_outward("sy11") == "SY11"
    assert normalise_outward("SY11 1PW") is None
