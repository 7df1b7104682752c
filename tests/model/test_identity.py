"""The identity rule that says which delivered ephemeris replaces which: NAIF ID, then COSPAR, then name."""

from marsview.model.identity import Identity, find_same_object, normalized_cospar, same_object


def test_naif_id_decides_when_both_have_one():
    assert same_object(Identity("MRO", -74), Identity("MARS RECONNAISSANCE ORBITER", -74))
    assert not same_object(Identity("MRO", -74), Identity("MRO", -75))  # a contradicting ID wins over the name


def test_cospar_then_name():
    assert same_object(Identity("TGO", None, "2016-017a"), Identity("ExoMars TGO", None, "2016-017A"))
    assert not same_object(Identity("TGO", None, "2016-017A"), Identity("TGO", None, "2013-063A"))
    assert same_object(Identity("Tianwen-1"), {"name": "TIANWEN 1", "naif_id": None})
    assert normalized_cospar("-74") is None


def test_find_prefers_an_id_match_over_a_name_match():
    candidates = [Identity("MAVEN"), Identity("Mars Atmosphere and Volatile Evolution", -202)]
    assert find_same_object(Identity("MAVEN", -202), candidates) == 1
    assert find_same_object(Identity("MAVEN"), candidates) == 0
    assert find_same_object(Identity("MAVEN", -999), candidates) == 0  # the name, as the first has no ID
    assert find_same_object(Identity("MAVEN", -999), [Identity("MAVEN", -202)]) is None
