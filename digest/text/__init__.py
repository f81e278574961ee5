"""Text: from an article page or a feed's HTML to the sentences of a summary. Sanitizing
(nh3), HTML to plain text, article extraction (trafilatura and our cleaning), page furniture,
sentence segmentation, where an article opens, the word counts (C, with a Python reference)
and the extractive summarizer: what it knows of an article (article.py), the news lede or the
nut graf after a scene-setting one (lede.py), sentences fit for a blurb (quality.py), ones
that stand alone (standalone.py), the weighted rules (summarize.py) and the picker
(picker.py). Pure: strings in, strings and records out; no I/O.

May import: errors, models, net.
"""
