"""The report: results/report.html, one self-contained page (the Vega
libraries and every chart inlined, so it opens with no network) that
states the environment and method, answers H1 and H2 in sentences whose
every figure is computed from the dataset, and shows the data's quality.

Each concern has its module, and each finding is computed once:
- facts: H1 per vCPU level and H2 as typed facts (figures, comparisons,
  verdicts), from the statistics and the repetitions behind them;
- network: the network paths measured and what the main one moved onto
  the server's CPUs, as facts;
- quality: the data's quality and the hosts, as facts;
- h1_text, h2_text, network_text, data_text: those facts as sentences,
  short for the Findings and long for each section (plain text, no HTML);
- words: numbers and English shared by the sentences;
- tables: the tables as rows of text;
- page: gathers all of it and renders templates/report.html.j2 (Jinja2,
  autoescaped), where the page's fixed wording lives;
- __main__: the command line, `python -m scripts.report`.

Everything comes from the dataset's tables, so a dataset alone (one merged
from several hosts' results, say) gives the full report.
"""
