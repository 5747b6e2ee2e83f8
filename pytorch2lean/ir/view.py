"""Views of a graph for people and for analysis: a networkx DiGraph, DOT text, an SVG drawing."""

from __future__ import annotations

import io
from pathlib import Path

import networkx as nx

from ..errors import UserError
from .graph import Graph

KIND_STYLE = {"input": ("#cfe8ff", "ellipse"), "param": ("#eeeeee", "box"), "node": ("#ffe9b8", "box"), "output": ("#c9f2c7", "box")}


def to_networkx(graph: Graph, *, params: bool = True) -> nx.DiGraph:
    """A DiGraph with one vertex per input, parameter (optional) and node; edges follow data flow.

    Vertex attributes: kind ("input" | "param" | "node"), op, shape, output (bool).
    """
    g = nx.DiGraph(name=graph.name)
    outputs = set(graph.outputs)
    for i in graph.inputs:
        g.add_node(i.name, kind="input", op="input", shape=i.shape, output=i.name in outputs)
    if params:
        for p in graph.params:
            g.add_node(p.name, kind="param", op="param", shape=p.shape, output=False)
    for n in graph.nodes:
        g.add_node(n.id, kind="node", op=n.op, shape=n.shape, output=n.id in outputs)
        for k, ref in enumerate(n.inputs):
            if ref in g:
                g.add_edge(ref, n.id, operand=k)
    return g


def _label(name: str, data: dict) -> str:
    shape = "×".join(map(str, data["shape"] or ())) or "scalar"
    head = name if data["kind"] != "node" else f"{name}\n{data['op']}"
    return f"{head}\n[{shape}]"


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text, top to bottom, outputs highlighted."""
    import pydot

    dot = pydot.Dot(graph_name=_dot_id(graph.name), graph_type="digraph", rankdir="TB")
    dot.set_node_defaults(fontname="Helvetica", fontsize="10", style="filled")
    g = to_networkx(graph)
    for name, data in g.nodes(data=True):
        color, shape = KIND_STYLE["output" if data["output"] else data["kind"]]
        dot.add_node(pydot.Node(_dot_id(name), label=_quote(_label(name, data)), fillcolor=_quote(color), shape=shape))
    for a, b in g.edges():
        dot.add_edge(pydot.Edge(_dot_id(a), _dot_id(b)))
    return dot.to_string()


def _dot_id(name: str) -> str:
    return _quote(name)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_svg(graph: Graph) -> str:
    """An SVG drawing (layered by topological generation), rendered with matplotlib.

    Parameters are left out of the drawing to keep it readable; node labels list op and shape.
    Output is deterministic: fixed hash salt, no date metadata.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = to_networkx(graph, params=False)
    for layer, names in enumerate(nx.topological_generations(g)):
        for name in names:
            g.nodes[name]["layer"] = layer
    layered = nx.multipartite_layout(g, subset_key="layer", align="horizontal")  # layer k at height k
    pos = {name: (float(x), -float(y)) for name, (x, y) in layered.items()}  # inputs on top
    depth = 1 + max((d["layer"] for _, d in g.nodes(data=True)), default=0)
    width = max((sum(1 for _, d in g.nodes(data=True) if d["layer"] == l) for l in range(depth)), default=1)
    fig, ax = plt.subplots(figsize=(max(4.0, 2.2 * width), max(3.0, 1.1 * depth)))
    colors = [KIND_STYLE["output" if d["output"] else d["kind"]][0] for _, d in g.nodes(data=True)]
    skips = [(a, b) for a, b in g.edges() if g.nodes[b]["layer"] - g.nodes[a]["layer"] > 1]
    steps = [e for e in g.edges() if e not in set(skips)]
    edge_style = {"ax": ax, "arrows": True, "arrowsize": 10, "edge_color": "#666666", "node_size": 2200}
    nx.draw_networkx_edges(g, pos, edgelist=steps, **edge_style)
    nx.draw_networkx_edges(g, pos, edgelist=skips, connectionstyle="arc3,rad=0.45", **edge_style)  # residual joins
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colors, node_shape="s", node_size=2200, edgecolors="#555555")
    nx.draw_networkx_labels(g, pos, ax=ax, labels={n: _label(n, d) for n, d in g.nodes(data=True)}, font_size=7)
    ax.set_title(graph.name, fontsize=10)
    ax.margins(0.25, 0.12)
    ax.axis("off")
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "pytorch2lean", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def write_drawing(graph: Graph, out: Path) -> None:
    """Write `graph` to `out` as DOT (.dot/.gv) or SVG (.svg), chosen by suffix."""
    suffix = out.suffix.lower()
    if suffix in (".dot", ".gv"):
        out.write_text(to_dot(graph), encoding="utf-8")
    elif suffix == ".svg":
        out.write_text(to_svg(graph), encoding="utf-8")
    else:
        raise UserError(f"{out}: unknown drawing format {suffix!r}; use .svg or .dot")
