

def test_one_line_names_the_error_type_and_joins_its_lines():
    from ganbench.registry import one_line
    assert one_line(ValueError("bad\n  value\tgiven ")) == "ValueError: bad value given"
    assert one_line(KeyError("k")) == "KeyError: 'k'"
