/**
 * English function words (articles, pronouns, prepositions, conjunctions, auxiliaries and the commonest adverbs),
 * as the vectorizer standardizes them (lower case, ASCII punctuation stripped: "don't" is "dont"). It is NLTK's
 * English stop-word list with its contractions written that way. The word evidence of notebook 07 reports these
 * words apart from the others: they carry grammar, not a film's subject.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "i me my myself we our ours ourselves you youre youve youll youd your yours yourself yourselves he him his himself " +
    "she shes her hers herself it its itself they them their theirs themselves what which who whom this that thatll " +
    "these those am is are was were be been being have has had having do does did doing a an the and but if or because " +
    "as until while of at by for with about against between into through during before after above below to from up " +
    "down in out on off over under again further then once here there when where why how all any both each few more " +
    "most other some such no nor not only own same so than too very s t can will just don dont should shouldve now d " +
    "ll m o re ve y ain aren arent couldn couldnt didn didnt doesn doesnt hadn hadnt hasn hasnt haven havent isn isnt " +
    "ma mightn mightnt mustn mustnt needn neednt shan shant shouldn shouldnt wasn wasnt weren werent won wont wouldn wouldnt"
  ).split(" "),
);
