"""Intelligent matching (智能匹配): a need in plain words becomes the best plans for its budget.

Pure Python, no Django. ``understand.understand`` reads a need (Chinese or English text plus
structured fields) into an ``Understood``; ``optimizer.optimise`` turns it and a catalogue of
``offers.Offer`` into up to three plans (最省钱 / 最快 / 均衡), each optimal for its own objective
(integer programs solved with HiGHS through ``highspy``). The vocabulary lives in ``lexicon.json``.
Import from the submodules; this package imports nothing so loading the Django app stays cheap.
"""
