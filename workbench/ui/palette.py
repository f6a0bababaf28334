"""The colours a run or a condition is drawn in, shared by the dashboard and the offline reports."""

__all__ = ["PALETTE"]

# plotly's qualitative "D3" palette: distinct hues, one per variant in the selection
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
