"""Corpus mode: folders of videos and photos, resumable, in worker processes or on Ray.

from fer_demo.corpus import CorpusSettings, analyze_corpus

for result in analyze_corpus(["interviews/", "photos/*.jpg"], CorpusSettings(), out="results"):
    print(result.source, result.status, result.error or "")
"""

from fer_demo.corpus.files import FileResult
from fer_demo.corpus.inputs import MediaFile, find_media
from fer_demo.corpus.run import RunSummary, analyze_corpus
from fer_demo.corpus.settings import CorpusSettings

__all__ = ["CorpusSettings", "FileResult", "MediaFile", "RunSummary", "analyze_corpus", "find_media"]
