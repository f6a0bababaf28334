"""The side-by-side panels' shared colour scale (issue 30): hand-built figures with known z."""

import base64

import numpy as np

from workbench.ui.dashboard.colour_scale import shared_z, z_values


def _heat(z, **extra):
    return {"data": [{"type": "heatmap", "z": z, **extra}], "layout": {}}


def test_the_union_of_both_ranges_goes_on_both_and_the_inputs_stay_as_they_were():
    a, b = _heat([[0.0, 1.0], [2.0, 3.0]]), _heat([[0.5, 9.0]])
    sa, sb = shared_z(a, b)
    for fig in (sa, sb):
        assert (fig["data"][0]["zmin"], fig["data"][0]["zmax"], fig["data"][0]["zauto"]) == (0.0, 9.0, False)
    assert "zmin" not in a["data"][0] and "zmin" not in b["data"][0]  # a cached figure is not changed


def test_a_scale_centred_on_zero_stays_symmetric():
    sa, sb = shared_z(_heat([[-1.0, 2.0]], zmid=0), _heat([[-5.0, 0.5]]))
    assert (sa["data"][0]["zmin"], sa["data"][0]["zmax"]) == (-5.0, 5.0)
    assert (sb["data"][0]["zmin"], sb["data"][0]["zmax"]) == (-5.0, 5.0)


def test_a_coloraxis_gets_the_range_and_typed_arrays_are_read():
    z = np.array([[1.0, 4.0]], dtype=np.float32)
    typed = {"dtype": "f4", "bdata": base64.b64encode(z.tobytes()).decode(), "shape": "1, 2"}
    assert np.array_equal(z_values(typed), [1.0, 4.0])
    a = {"data": [{"type": "heatmap", "z": typed, "coloraxis": "coloraxis"}], "layout": {"coloraxis": {}}}
    sa, sb = shared_z(a, _heat([[2.0, 7.0]]))
    assert (sa["layout"]["coloraxis"]["cmin"], sa["layout"]["coloraxis"]["cmax"]) == (1.0, 7.0)
    assert (sb["data"][0]["zmin"], sb["data"][0]["zmax"]) == (1.0, 7.0)


def test_a_scale_the_view_fixes_and_traces_without_a_partner_are_kept():
    a = {"data": [{"type": "heatmap", "z": [[0.2]], "zmin": 0, "zmax": 1},
                  {"type": "heatmap", "z": [[5.0]]}], "layout": {}}
    b = _heat([[0.9]], zmin=0, zmax=1)
    sa, sb = shared_z(a, b)
    assert (sa["data"][0]["zmin"], sa["data"][0]["zmax"]) == (0, 1)
    assert "zmin" not in sa["data"][1]  # the second heatmap has no partner in b
    nan = shared_z(_heat([[np.nan]]), _heat([[np.nan]]))
    assert "zmin" not in nan[0]["data"][0]
