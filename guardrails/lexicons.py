"""High-precision cue patterns per category: the rule half of the topic checks.

Each pattern carries a score: 0.9+ means the phrase alone settles it ("I want to talk to a
real person"); lower scores are hints the classifier must agree with. Negative patterns cut
idioms that look alarming but are not ("this plan is killing me", "I'd kill for those").
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    pattern: re.Pattern[str]
    score: float
    label: str  # short name used in Verdict reasons (never the matched text)
    # The same pattern without re.I, for text already lower-cased: ~4x faster on long pastes.
    folded: re.Pattern[str] | None = None

    def search(self, text: str, lowered: str | None = None) -> re.Match[str] | None:
        """Search text; pass `lowered` (text.lower(), same length) to use the faster pattern."""
        if lowered is not None and self.folded is not None and len(lowered) == len(text):
            return self.folded.search(lowered)
        return self.pattern.search(text)


def _c(rx: str, score: float, label: str) -> Cue:
    return Cue(re.compile(rx, re.I), score, label, re.compile(rx))


_PERSON = r"(?:human|person|agent|representative|rep|somebody|someone|employee|manager|supervisor|operator|staff(?: member)?|live agent|team member|advisor|adviser|associate|people|reception|receptionist|front desk|switchboard|help ?desk)"

CUES: dict[str, list[Cue]] = {
    "human_requested": [
        _c(r"\b(?:talk|speak|chat|connect|communicate)(?:ing)?\s+(?:directly\s+|personally\s+|in person\s+)?(?:to|with)\s+(?:a|an|the|your|some|any|one of your)?\s*(?:real|actual|live|human|different|other|another)?\s*" + _PERSON + r"\b", 0.95, "asks to talk to a person"),
        _c(r"\b(?:get|give|want|need|put|transfer|connect|pass|escalate)\s+(?:me\s+)?(?:to|through to|with|a|an)?\s*(?:a|an|the)?\s*(?:real|actual|live|human)\s+" + _PERSON, 0.95, "asks for a real person"),
        _c(r"\b(?:real|actual|live|human)\s+(?:person|human|being|agent|representative|rep|people)\b", 0.85, "mentions a real person"),
        _c(r"\b(?:transfer|connect|put|pass|escalate)\s+(?:me|this|my (?:case|issue))\s+(?:to|through|over)\b", 0.8, "asks to be transferred"),
        _c(r"\b(?:are you|is this|am i talking to)\s+(?:a\s+)?(?:bot|robot|machine|ai|automated)\b", 0.55, "asks if this is a bot"),
        _c(r"\b(?:stop|no more|enough)\b.{0,30}\b(?:bot|robot|automated|machine)\b", 0.8, "rejects the bot"),
        _c(r"\b(?:not|don'?t|do not|no)\b.{0,25}\b(?:want|wanna|talk|speak|chat)\b.{0,20}\b(?:bot|robot|machine|automated|ai)\b", 0.85, "does not want the bot"),
        _c(r"\b(?:human|agent|representative|operator|manager|supervisor|real person)\s*(?:please|pls|plz|now)?\s*[.!?]*$", 0.75, "asks for a person (short)"),
        _c(r"\b(?:call|ring|phone)\s+me\b", 0.6, "asks to be called"),
        # A message that is little more than "agent pls" / "is there a human": the whole text is the request.
        _c(r"^\W*(?:(?:a|an|the|real|live|actual|proper|please|pls|plz|can i|could i|may i|i want|i need|want|need|get me|give me|"
           r"speak to|talk to|chat with|is there|are there|any|anyone|just|ok|hello|hi|hey|i'?d like|let me|me|to|with|now)\s+){0,5}"
           + _PERSON + r"(?:\s+(?:please|pls|plz|now|asap|thanks?|here|there|available|on the line))?\W*$", 0.93, "asks for a person (short)"),
        _c(r"\b(?:transfer|put|pass|hand|forward|escalate)\s+me\b(?:\s+(?:over|on|through|to|across))?", 0.9, "asks to be transferred"),
        _c(r"\b(?:get|put|bring|find|fetch)\s+(?:me\s+)?(?:someone|somebody|a person|a human|a colleague|an agent)\b", 0.9, "asks to be given a person"),
        _c(r"\b(?:is|are)\s+there\s+(?:a|an|any|some)?\s*(?:real\s+|actual\s+|live\s+)?(?:human|person|people|agent|one real|body real|anyone real)\b", 0.9, "asks whether a person is there"),
        _c(r"\b(?:not|don'?t|do not|never)\b.{0,20}\b(?:comfortable|trust|sharing|share|telling|tell|giving|give)\b.{0,40}\b(?:bot|robot|machine|automated|ai|chatbot)\b", 0.85, "does not want the bot"),
        _c(r"\b(?:bot|chatbot|robot|machine|ai)\b.{0,40}\b(?:let me|can i|i want to|i need to|i'?d like to)\s+(?:speak|talk|chat)\s+(?:to|with)\b", 0.92, "rejects the bot, asks for someone"),
        _c(r"\b(?:customer (?:service|care|support)|support team|someone from your team)\b.{0,30}\b(?:contact|call|reach|get back to) me\b", 0.7, "asks to be contacted"),
        # "i want a person", "need a human not a robot": a wish for a person, ended there or by
        # what the person should do; "I need someone to pick up my parcel" stays out.
        _c(r"\b(?:i|we)\s*(?:'d|would)?\s*(?:want|need|like|wanna|prefer|demand)\s+(?:to (?:have|get)\s+)?(?:a|an|some|one|to (?:talk|speak|chat) (?:to|with) (?:a|an|some))?\s*(?:real\s+|actual\s+|live\s+|proper\s+)?"
           r"(?:human|person|agent|representative|operator|human being|real person|staff member|team member|advisor|adviser|supervisor)"
           r"(?=\s*(?:$|[.!?,;]|please|pls|plz|now|asap|not|instead|already|here|to (?:help|talk|speak|call|look|deal|handle|sort|check|contact)))", 0.9, "asks for a person"),
        _c(r"\b(?:this|the)\s+(?:conversation|chat|bot|chatbot)\s+(?:is|isn'?t|is not)\s+(?:not\s+)?(?:working|helping|going anywhere|getting anywhere|going nowhere|useless|pointless)\b", 0.6, "says the chat is not working"),
    ],
    "billing_dispute": [
        _c(r"\b(?:charged|billed|debited)\s+(?:me\s+)?(?:twice|double|two times|2x|three times|again)\b", 0.95, "double charge"),
        _c(r"\bdouble[- ](?:charged|charge|billed|billing)\b", 0.95, "double charge"),
        _c(r"\b(?:took|taken|take|charged|billed|debited|collected|deducted)\b.{0,35}\b(?:twice|two times|double|2x|three times)\b", 0.9, "double charge"),
        _c(r"\bover\s?charg(?:ed|e|ing)\b", 0.9, "overcharge"),
        _c(r"\b(?:charge ?back|dispute (?:the|this|a) (?:charge|payment|transaction))\b", 0.9, "chargeback / dispute"),
        _c(r"\b(?:i (?:want|demand|need)|give me|where is|still (?:no|waiting for|haven'?t (?:got|received)))\s+(?:my|a)\s+(?:money back|refund)\b", 0.85, "refund demand"),
        _c(r"\bcharged\b.{0,40}\b(?:never|didn'?t|did not|wrong|cancel+ed|after)\b", 0.75, "contested charge"),
        _c(r"\b(?:wrong|incorrect|unexpected|extra|hidden)\s+(?:charge|amount|fee|bill)\b", 0.8, "wrong charge"),
        _c(r"\bstill (?:being )?(?:charged|billed)\b", 0.85, "charged after cancel"),
        _c(r"\brefund\b.{0,40}\b(?:never|not|hasn'?t|didn'?t|still|weeks|months)\b", 0.7, "refund not received"),
    ],
    "fraud_security": [
        _c(r"\b(?:stolen|lost|missing)\s+(?:my\s+)?(?:credit |debit |bank )?(?:card|wallet|purse|phone)\b", 0.9, "lost or stolen card"),
        _c(r"\b(?:card|wallet|purse)\b.{0,20}\b(?:was |got |been )?(?:stolen|lost|missing|swallowed|taken)\b", 0.9, "lost or stolen card"),
        _c(r"\b(?:lost|misplaced|can'?t find)\s+(?:my\s+)?(?:credit |debit |bank )?(?:card|wallet)\b", 0.9, "lost card"),
        _c(r"\b(?:hack(?:ed|er|ers)?|compromised|breached|phishing|scam(?:med|mer)?|fraud(?:ulent)?|identity theft|skimm(?:ed|er))\b", 0.8, "fraud / compromise"),
        _c(r"\bunauthori[sz]ed\b", 0.9, "unauthorised use"),
        _c(r"\b(?:i )?(?:didn'?t|did not|never)\s+(?:make|made|authori[sz]e|order|buy|place|recogni[sz]e)\b.{0,40}\b(?:purchase|payment|charge|transaction|order|withdrawal|this)\b", 0.85, "unrecognised transaction"),
        _c(r"\b(?:don'?t|do not|can'?t|cannot)\s+recogni[sz]e\b.{0,30}\b(?:payment|charge|transaction|purchase|withdrawal|debit)", 0.9, "unrecognised transaction"),
        _c(r"\b(?:unknown|uknown|unkown|unknwn|unrecogni[sz]ed|strange|suspicious|weird|odd|random)\s+(?:payment|charge|transaction|purchase|withdrawal|activity|login|email|text|order)s?\b", 0.85, "suspicious activity"),
        _c(r"\bsomeone\b.{0,30}\b(?:used|using|took|accessed|logged into|got into|charged|ordered|bought|withdrew|has my)\b", 0.8, "someone else used it"),
        _c(r"\b(?:freeze|block|lock|cancel|deactivate|stop)\s+(?:my\s+)?(?:credit |debit |bank )?card\b", 0.9, "block card"),
        _c(r"\b(?:payment|charge|transaction|purchase|order|withdrawal|debit)s?\b.{0,30}\b(?:i|we)\s+(?:don'?t|do not|didn'?t|did not|never|can'?t|cannot)\s+(?:rec\w{0,3}g\w{0,3}[sz]e|recall|remember|make|made|authori[sz]e|place|placed|buy|bought|know)\b", 0.9, "unrecognised transaction"),
        # Misspelt "recognise" is common in a hurry ("recongize").
        _c(r"\b(?:don'?t|dont|do not|can'?t|cant|cannot)\s+(?:rec\w{0,3}g\w{0,3}[sz]e|recall|remember|identify|explain)\b.{0,30}\b(?:payment|charge|transaction|purchase|withdrawal|debit)", 0.9, "unrecognised transaction"),
        _c(r"\bwhere\b.{0,15}\b(?:charge|payment|transaction|debit|withdrawal)\b.{0,25}\b(?:came|come|comes|coming|is from|was from)\b", 0.85, "unexplained transaction"),
        _c(r"\b(?:i\s+)?(?:didn'?t|didnt|did not|never)\s+(?:do|make|authori[sz]e)\s+(?:this|that|the|these|those)\s+(?:charge|payment|transaction|purchase|withdrawal)s?\b", 0.92, "unrecognised transaction"),
        _c(r"\b(?:payment|charge|transaction|purchase|order)s?\b.{0,40}\b(?:wasn'?t|weren'?t|was not|were not|isn'?t|not)\s+(?:me|mine|us)\b", 0.9, "unrecognised transaction"),
        _c(r"\b(?:someone|somebody|a stranger|a thief)\b.{0,25}\b(?:used|using|charged|accessed|spent|emptied|drained)\b.{0,12}\bmy\s+(?:card|account|details|payment|money|wallet)", 0.92, "someone else used it"),
        _c(r"\bfake\s+(?:email|text|sms|website|site|account|page|profile)\b", 0.75, "impersonation / phishing"),
    ],
    "account_access": [
        _c(r"\blocked\s+out\b|\baccount\b.{0,20}\b(?:locked|suspended|disabled|blocked|frozen|deactivated|banned|closed)\b", 0.9, "account locked"),
        _c(r"\b(?:can'?t|cannot|unable to|couldn'?t|won'?t let me|not able to)\s+(?:log ?in|sign ?in|login|signin|access|get into|open)\b", 0.85, "cannot log in"),
        _c(r"\b(?:reset|verification|confirmation|login|sign-?in)\s+(?:link|email|code|text|sms)s?\b.{0,40}\b(?:never|not|doesn'?t|didn'?t|isn'?t|won'?t|hasn'?t)\s+(?:arriv|com|work|show|turn|get|receiv|been)", 0.9, "reset or code never arrives"),
        _c(r"\b(?:still|again)\b.{0,20}\b(?:locked|can'?t (?:log|sign|get)|cannot (?:log|sign|get))\b|\b(?:tried|reset)\b.{0,50}\b(?:still|but)\b.{0,20}\b(?:can'?t|cannot|locked|won'?t)\b", 0.9, "still locked out after trying"),
        _c(r"\b(?:verification|2fa|two[- ]factor|otp|security) code\b.{0,30}\b(?:not|never|doesn'?t|didn'?t|isn'?t|won'?t)\b", 0.85, "verification code problem"),
        _c(r"\b(?:verify|confirm)\s+(?:my\s+)?(?:identity|id)\b", 0.75, "identity verification"),
        _c(r"\b(?:authenticator|2fa|two[- ]factor|two[- ]step|backup codes?|recovery codes?)\b.{0,60}\b(?:lost|gone|stolen|broke|wiped|old phone|don'?t have|no longer|can'?t|cannot|locked|stuck)\b|"
           r"\b(?:lost|stolen|broke|wiped|don'?t have|no longer have)\b.{0,60}\b(?:authenticator|2fa|two[- ]factor|two[- ]step|backup codes?|recovery codes?)\b", 0.9, "lost second factor"),
        _c(r"\b(?:changed|change of|new)\s+(?:phone )?number\b.{0,40}\b(?:code|login|access|verify)\b", 0.7, "lost second factor"),
    ],
    "legal_threat": [
        _c(r"\b(?:my|our)\s+(?:lawyer|attorney|solicitor|legal team|legal counsel)s?\b|\b(?:call|calling|contact(?:ing)?|consult(?:ing)?|hire|hiring|get|getting|involve|involving|speak(?:ing)? to|talk(?:ing)? to|see(?:ing)?)\s+(?:a|an|my|the)?\s*(?:lawyer|attorney|solicitor|legal team|legal counsel)s?\b|\b(?:lawyer|attorney|solicitor)s?\s+(?:will|is going to|are going to|'ll)\b", 0.9, "brings in a lawyer"),
        _c(r"\b(?:lawyer|attorney|solicitor)s?\b", 0.3, "mentions a lawyer"),
        _c(r"\b(?:sue|suing|sued|lawsuit|legal action|take (?:you|this) to court|small claims|class action|litigation)\b", 0.95, "lawsuit threat"),
        _c(r"\b(?:report(?:ing)? (?:you|this|your company) to|complain(?:t)? to|file a complaint with)\b.{0,40}\b(?:ftc|cfpb|bbb|better business bureau|attorney general|regulator|ombudsman|trading standards|consumer protection|authorities|police)\b", 0.9, "regulator complaint"),
        _c(r"\b(?:ftc|cfpb|attorney general|ombudsman|trading standards|consumer protection agency|regulator|watchdog)\b", 0.7, "regulator named"),
        _c(r"\b(?:report(?:ed|ing)?|complain(?:ed|ing)?|complaint|tak(?:e|ing)\s+(?:this|it|you)|escalat(?:e|ing)\s+(?:this|it)|contact(?:ing)?|hear from|writ(?:e|ing) to|going)\b.{0,40}\b(?:ftc|cfpb|bbb|attorney general|regulators?|ombudsman|trading standards|consumer (?:protection|affairs|watchdog|rights)|watchdog|financial conduct authority|fca)\b", 0.92, "regulator complaint"),
        _c(r"\b(?:breach of contract|false advertising|consumer rights act|violat(?:e|es|ed|ion of) (?:my rights|the law|consumer law))\b", 0.8, "legal claim"),
    ],
    "safety_crisis": [
        _c(r"\b(?:kill|hurt|harm|cut)(?:ing)?\s+my\s?self\b|\bsuicid(?:e|al)\b|\bend (?:my|it all|my own) li(?:fe|ves)\b|\bself[- ]harm\b", 0.97, "self-harm"),
        _c(r"\b(?:want|wanna|going|ready)\s+to\s+die\b|\bdon'?t want to (?:live|be alive|be here anymore)\b|\bno (?:reason|point) (?:to|in) (?:live|living|going on|being alive)\b|\b(?:don'?t|can'?t) see (?:any |the )?(?:point|reason) (?:in|to|of) (?:living|live|going on|being alive)\b|\bcan'?t go on\b|\bbetter off dead\b", 0.95, "wants to die"),
        _c(r"\b(?:i(?:'ll| will| am going to|'m going to|'m gonna| wanna)|gonna)\s+(?:kill|shoot|stab|hurt|beat up|attack|find and hurt)\s+(?:you|him|her|them|your|someone|somebody|everyone|the)\b", 0.95, "threat of violence"),
        _c(r"\b(?:bomb|gun|shoot(?:ing)?|weapon)\b.{0,30}\b(?:store|office|shop|building|staff|employees|you)\b", 0.85, "violence near people"),
        _c(r"\b(?:caught fire|on fire|exploded|explod(?:ing|es)|burst into flames|smok(?:e|ing) (?:coming|pouring)|electric shock|electrocuted|burned (?:me|my|him|her)|burns on)\b", 0.9, "product danger"),
        _c(r"\b(?:battery|batteries|charger|charging|power ?bank|cable|plug|device|speaker|earbuds?|headphones?|case|tablet|phone|laptop|it)\b.{0,40}\b(?:smok(?:e|es|ing|ed)|spark(?:s|ing|ed)|melt(?:s|ing|ed)|swell(?:ing|ed)|swollen|too hot to touch|burning smell|smells? (?:like )?burn(?:ing|t))\b|\b(?:smok(?:e|ing)|sparks?|flames?)\b.{0,30}\b(?:battery|charger|power ?bank|device|speaker|earbuds?|headphones?|case|tablet|plug|socket)\b", 0.92, "product danger"),
        _c(r"\b(?:hurt|smash|beat|punch|stab|shoot|kill|attack)\b.{0,15}\b(?:whoever|your (?:staff|employees?|driver|manager|people)|someone|somebody|faces?|them all)\b|\b(?:someone|somebody|people)\b.{0,20}\b(?:is|are) (?:going to|gonna) get hurt\b|\bi know where\b.{0,30}\blives?\b", 0.92, "threat of violence"),
        _c(r"\b(?:overdos(?:e|ed|ing)|can'?t breathe|chest pain|unconscious|bleeding|choking|swallowed (?:a|the) (?:battery|magnet))\b", 0.9, "medical emergency"),
        _c(r"\b(?:abus(?:e|ive|ing)\s+(?:partner|husband|wife|boyfriend|girlfriend)|domestic violence|being (?:stalked|followed|threatened))\b", 0.9, "danger to a person"),
    ],
    "privacy_request": [
        _c(r"\b(?:gdpr|ccpa|cpra|dsar|subject access request|data subject|right to be forgotten|right to erasure|data protection act)\b", 0.95, "privacy law named"),
        _c(r"\b(?:delete|erase|remove|wipe|purge)\s+(?:all\s+)?(?:of\s+)?(?:my|our)\s+(?:personal\s+)?(?:data|information|info|details|records|history)\b", 0.9, "deletion request"),
        _c(r"\b(?:what|which|all the|copy of (?:the|my|all))\s+(?:personal\s+)?(?:data|information|info)\s+(?:do you|you|have you|are you)\s+(?:have|hold|keep|store|collect|stored|holding|keeping)", 0.9, "access request"),
        _c(r"\b(?:do not|don'?t|stop)\s+(?:sell|share|selling|sharing|using)\s+(?:my|our)\s+(?:personal\s+)?(?:data|information|info)\b|\bopt(?:ing)? out of (?:the )?(?:sale|sharing|tracking|data)", 0.9, "opt-out request"),
        _c(r"\b(?:correct|update|fix|rectify)\s+(?:the\s+)?(?:personal\s+)?(?:data|information)\s+you\s+(?:have|hold)\b", 0.8, "correction request"),
        _c(r"\b(?:unsubscribe|remove me from)\b.{0,20}\b(?:marketing|mailing|emails|list)\b", 0.5, "marketing opt-out"),
    ],
    "complaint_escalation": [
        _c(r"\b(?:worst|terrible|horrible|awful|atrocious|pathetic|disgraceful|shocking|appalling|useless|incompetent)\s+(?:customer\s+)?(?:service|support|company|experience|brand|store|shop)\b", 0.85, "harsh complaint"),
        _c(r"\b(?:never|not) (?:buying|ordering|shopping|using you) (?:from you |here |with you )?(?:again|ever again)\b|\bnever again\b", 0.75, "churn threat"),
        _c(r"\b(?:post(?:ing)?|tell(?:ing)?|share|sharing|put(?:ting)?|expos(?:e|ing))\b.{0,30}\b(?:everyone|twitter|tiktok|facebook|instagram|reddit|youtube|online|social media|the news|the press|my followers|reviews?)\b", 0.75, "threat to go public"),
        _c(r"\b(?:unacceptable|ridiculous|outrageous|disgusting|fed up|sick and tired|had enough|furious|livid|beyond frustrated|(?:is|are|re|s|was|what|such) a joke|scam company)\b", 0.6, "strong frustration"),
        _c(r"\b(?:(?:third|fourth|fifth|\d+(?:st|nd|rd|th)) time|(?:three|four|five|\d+) times)\b.{0,40}\b(?:contact|writ|messag|ask|call|complain|email|chat|tell|explain)", 0.8, "repeated complaint"),
        _c(r"\b(?:file|make|lodge|raise) (?:a|an) (?:formal )?complaint\b|\bspeak to (?:a|your) (?:manager|supervisor)\b", 0.8, "formal complaint"),
    ],
}

# Crisis, a request for a person and a fraud report in Spanish, French, German, Portuguese,
# Italian and Dutch. The sentence model is English-only, so these phrases carry the other
# languages; the label ends with the language code so the engine can answer in it even when a
# message is too short for the language detector ("Je veux mourir").
MULTILINGUAL_CUES: dict[str, list[Cue]] = {
    "safety_crisis": [
        _c(r"\b(?:quiero|quisiera|voy a|me voy a|ganas de)\s+(?:morir(?:me)?|matarme|suicidarme|desaparecer para siempre)\b|\bme quiero (?:morir|matar)\b|\bsuicid(?:io|arme|arse)\b|\b(?:quitarme|acabar con) (?:la|mi) (?:propia )?vida\b|\bno quiero (?:seguir )?vivir\b|\bhacerme daño\b|\bautolesi", 0.95, "self-harm (es)"),
        _c(r"\b(?:je veux|j'ai envie de|envie de)\s+mourir\b|\bme (?:suicider|tuer)\b|\bsuicid(?:e|aire)\b|\bmettre fin à (?:mes jours|ma vie)\b|\ben finir avec la vie\b|\bje ne veux plus vivre\b|\bme faire du mal\b", 0.95, "self-harm (fr)"),
        _c(r"\b(?:ich will|ich möchte|ich werde)\s+(?:nicht mehr leben|sterben|mich umbringen|mir das leben nehmen)\b|\bmich (?:umbringen|töten)\b|\bselbstmord\b|\bsuizid\b|\bmein leben (?:beenden|nehmen)\b|\bmir (?:etwas|was) antun\b|\bmich selbst verletzen\b|\bnicht mehr leben will\b", 0.95, "self-harm (de)"),
        _c(r"\bquero (?:morrer|me matar|matar-me|acabar com tudo)\b|\b(?:me matar|matar-me)\b|\bsuic[ií]d(?:io|ar)\b|\b(?:tirar|acabar com) a (?:minha )?(?:própria )?vida\b|\bnão quero (?:mais )?viver\b|\b(?:me machucar|magoar-me|me ferir)\b", 0.95, "self-harm (pt)"),
        _c(r"\bvoglio morire\b|\b(?:uccidermi|ammazzarmi|suicidarmi)\b|\bsuicidio\b|\btogliermi la vita\b|\bfarla finita\b|\bnon voglio più vivere\b|\bfarmi del male\b", 0.95, "self-harm (it)"),
        _c(r"\bik wil (?:dood|sterven|er een einde aan maken)\b|\bik wil niet meer leven\b|\bzelfmoord\b|\bsu[iï]cide\b|\bmezelf (?:van kant maken|iets aandoen|pijn doen|doden)\b|\been einde aan mijn leven\b", 0.95, "self-harm (nl)"),
        _c(r"\bte voy a matar\b|\bvoy a matar(?:te|lo|la|los)\b|\bje vais (?:te|vous|le|la) tuer\b|\bich (?:bringe?|werde) (?:dich|euch|ihn|sie) um(?:bringen)?\b|\bvou (?:te )?matar\b|\bti ammazzo\b|\bvi ammazzo\b|\bik (?:maak|vermoord) (?:je|jou|jullie|hem|haar)\b", 0.95, "threat of violence (ml)"),
    ],
    "human_requested": [
        _c(r"\bhablar con (?:una persona|un humano|un agente|alguien|un asesor|un operador|un representante|una persona real|un empleado)\b|\b(?:pásame|pasame|comunícame) con\b|\batención humana\b|\bpersona real\b", 0.95, "asks for a person (es)"),
        _c(r"\bparler (?:à|a|avec) (?:quelqu'un|quelqu’un|un humain|une personne|un conseiller|une conseillère|un agent|un opérateur|un vrai)\b|\bun vrai humain\b|\bune vraie personne\b|\bun être humain\b", 0.95, "asks for a person (fr)"),
        _c(r"\bmit (?:einem|einer) (?:mitarbeiter(?:in)?|menschen|berater(?:in)?|echten person|person|kundenberater(?:in)?)\s+(?:sprechen|reden|verbunden|telefonieren)\b|\b(?:einen|echten) menschen\b|\becht(?:e|en) person\b|\b(?:mitarbeiter|kundenberater)\s+(?:sprechen|bitte)\b", 0.95, "asks for a person (de)"),
        _c(r"\bfalar com (?:uma pessoa|um humano|um atendente|uma atendente|alguém|um agente|um operador|um assistente|um funcionário)\b|\batendimento humano\b|\bpessoa real\b", 0.95, "asks for a person (pt)"),
        _c(r"\bparlare con (?:un operatore|un'operatrice|una persona|un umano|qualcuno|un agente|un consulente|un essere umano)\b|\boperatore umano\b|\bpersona vera\b|\bpersona reale\b", 0.95, "asks for a person (it)"),
        _c(r"\b(?:praten|spreken) met (?:een medewerker|een mens|iemand|een persoon|een echt persoon|een echte persoon)\b|\bmet (?:een medewerker|een mens|iemand|een persoon|een echte persoon)\s+(?:praten|spreken)\b|\becht(?:e)? (?:persoon|medewerker|mens)\b|\bmedewerker spreken\b", 0.95, "asks for a person (nl)"),
    ],
    "fraud_security": [
        _c(r"\b(?:me )?(?:robaron|han robado|robó) (?:la|mi) (?:tarjeta|cartera|cuenta)\b|\btarjeta robada\b|\bcuenta (?:fue |ha sido |está )?(?:hackeada|pirateada)\b|\bhacke(?:ad[oa]s?|aron)\b|\bno reconozco (?:este|ese|el|un|estos|estas) (?:cargos?|pagos?|cobros?|compras?|movimientos?)\b|\b(?:cargos?|compras?|pagos?) que no (?:hice|he hecho|reconozco|autoricé)\b|\bfraude\b|\bestafa\b", 0.93, "fraud report (es)"),
        _c(r"\bcarte (?:bancaire )?(?:volée|perdue|piratée)\b|\bon m'a volé (?:ma|mon) (?:carte|portefeuille|compte)\b|\bcompte (?:piraté|hacké)\b|\bpiraté\b|\bje ne reconnais pas (?:ce|cette|ces) (?:paiements?|prélèvements?|transactions?|débits?|achats?)\b|\b(?:paiement|achat|prélèvement)s? que je n'ai pas (?:fait|effectué|autorisé)\b|\bfraude\b|\barnaque\b|\bhameçonnage\b", 0.93, "fraud report (fr)"),
        _c(r"karte (?:wurde |ist )?(?:gestohlen|geklaut)\b|\b(?:gestohlen|geklaut)e? (?:karte|kreditkarte|geldbörse)\b|\b(?:konto|account) (?:wurde |ist )?gehackt\b|\bgehackt\b|\b(?:abbuchung|zahlung|transaktion|buchung)(?:en)?,? die ich nicht\b|\berkenne (?:diese|die|eine) (?:zahlung|abbuchung|transaktion|buchung)(?:en)? nicht\b|\bnicht autorisiert\b|\bbetrug\b|\bbetrüger", 0.93, "fraud report (de)"),
        _c(r"\bcartão (?:foi )?(?:roubado|clonado|furtado)\b|\broubaram (?:o )?(?:meu )?(?:cartão|celular|telemóvel)\b|\bconta (?:foi )?(?:hackeada|invadida|pirateada)\b|\b(?:compras?|pagamentos?|cobranças?) que (?:eu )?não (?:fiz|reconheço|autorizei)\b|\bnão reconheço (?:esta|essa|a|estas|essas) (?:compras?|transaç(?:ão|ões)|cobranças?)\b|\bfraude\b|\bgolpe\b|\bburla\b", 0.93, "fraud report (pt)"),
        _c(r"\bcarta (?:rubata|clonata|smarrita)\b|\bmi hanno rubato (?:la carta|il portafoglio|l'account)\b|\baccount (?:hackerato|violato)\b|\b(?:addebiti?|pagamenti?|acquisti?) che non ho (?:fatto|effettuato|autorizzato)\b|\bnon riconosco (?:questo|questa|questi|queste) (?:addebit[oi]|pagament[oi]|transazion[ei])\b|\bfrode\b|\btruffa\b", 0.93, "fraud report (it)"),
        _c(r"\b(?:pas|kaart|bankpas|creditcard) (?:is )?gestolen\b|\b(?:rekening|account) (?:is )?gehackt\b|\bgehackt\b|\b(?:afschrijving|betaling|transactie)(?:en)? die ik niet (?:heb gedaan|herken)\b|\bherken (?:deze|die) (?:afschrijving|betaling|transactie)(?:en)? niet\b|\bfraude\b|\boplichting\b|\bopgelicht\b", 0.93, "fraud report (nl)"),
    ],
}
for _topic, _cues in MULTILINGUAL_CUES.items():
    CUES[_topic].extend(_cues)


def cue_language(text: str) -> str | None:
    """The language of the first multilingual cue that matches (None when none does)."""
    lowered = text.lower()
    for cues in MULTILINGUAL_CUES.values():
        for cue in cues:
            if cue.search(text, lowered):
                code = cue.label.rsplit("(", 1)[-1].rstrip(")")
                if len(code) == 2:
                    return code
    return None

# Idioms that contain alarming words but are ordinary speech.
NEGATIVE_CUES: dict[str, list[re.Pattern[str]]] = {
    "safety_crisis": [
        re.compile(r"\b(?:is|are|'s|'re|was|were)\s+killing\s+me\b", re.I),
        re.compile(r"\b(?:i'?d|would)\s+kill\s+for\b", re.I),
        re.compile(r"\bkill(?:ing|ed)?\s+(?:it|the game|time)\b", re.I),
        re.compile(r"\bdying\s+(?:to|for)\b|\b(?:i'?d|would|could)\s+(?:literally\s+)?die\s+for\b", re.I),
        re.compile(r"\b(?:battery|phone|headphones?|it)\s+(?:is\s+|keeps\s+)?(?:dying|died|dead)\b", re.I),
        re.compile(r"\bdrop[- ]?dead gorgeous\b|\bto die for\b", re.I),
    ],
    "account_access": [
        # The app hangs or crashes at sign-in: a troubleshooting question, not a locked account.
        re.compile(r"\b(?:can'?t|cant|cannot|unable to|won'?t)\s+(?:log ?in|sign ?in|login)\b.{0,60}\b(?:spin\w*|loading|load\w*|crash\w*|freez\w*|frozen|blank|white screen|stuck on|hangs?)\b|"
                   r"\b(?:spin\w*|keeps loading|crash\w*|freez\w*|frozen|hangs?)\b.{0,40}\b(?:log ?in|sign ?in|login)\b", re.I),
    ],
    "fraud_security": [
        re.compile(r"\b(?:lost|missing)\s+(?:package|parcel|order|delivery|item|shipment)\b", re.I),
        # A gift card received or used is a present, not a payment card at risk.
        re.compile(r"\b(?:e-?)?gift ?cards?\b|\bvouchers?\b", re.I),
        # "life hack", "a hack to make the battery last": a tip, not an intrusion.
        re.compile(r"\blife ?hacks?\b|\b(?:any|a|quick|best|simple|easy|good)\s+hacks?\b|\bhacks?\s+(?:to|for)\b", re.I),
        # Asking how payments are kept safe is not reporting fraud.
        re.compile(r"\b(?:protect(?:ed|s|ion)?|prevent(?:ed|s|ion)?|guard(?:ed)?|safe|secure|check(?:s|ed)?|screen(?:ed|ing)?|detect(?:ed|ion)?)\b.{0,25}\bfraud(?:ulent)?\b|\bfraud\s+(?:protection|prevention|checks?|detection|screening|polic(?:y|ies))\b", re.I),
    ],
}

# Manipulation: prompt injection, system-prompt extraction, role-play jailbreaks.
MANIPULATION_CUES: list[Cue] = [
    _c(r"\b(?:ignore|disregard|forget|override|bypass|skip)\b.{0,40}\b(?:instructions?|prompts?|rules?|guidelines|directives?|programming|constraints|restrictions|above|previous|prior|everything)\b", 0.9, "asks to ignore instructions"),
    _c(r"\b(?:system|initial|original|hidden|secret|previous|above|your|pre-?)\s*(?:prompt|instructions?|message|directives?|rules|configuration|guidelines)\b", 0.55, "mentions the system prompt"),
    _c(r"\b(?:repeat|print|output|reveal|show|display|tell me|list|recite|write out|dump|spell out|translate|summari[sz]e|paraphrase|convert|encode)\b.{0,60}\b(?:instructions?|prompts?|rules|above|everything (?:above|before|so far)|preceding text|previous text|text above|secret|password|your (?:setup|configuration|programming|guidelines))\b", 0.85, "asks to reveal instructions"),
    # Role-play and "unfiltered" are everyday requests too ("pretend to be a tour guide", "an
    # unfiltered list of songs"): hints that count only together with another cue.
    _c(r"\b(?:you are now|from now on,? you|act as|pretend (?:to be|you are|you're)|roleplay|role-play|play the role|you will now|new persona|simulate|imagine you are)\b", 0.4, "role-play framing"),
    _c(r"\b(?:dan|developer mode|dev mode|god mode|do anything now)\b", 0.85, "jailbreak keyword"),
    _c(r"\b(?:jailbreak|unfiltered|uncensored|no restrictions|without (?:any )?restrictions)\b", 0.4, "jailbreak hint"),
    _c(r"\baccess granted\b", 0.9, "access-granted attack"),
    _c(r"\b(?:disregard|ignore|forget)\b.{0,15}\bwhat (?:you (?:were|have been|'ve been) (?:told|given|instructed)|they told you)\b|\bhidden (?:setup|instructions?|text|rules|configuration)\b", 0.85, "asks to drop or reveal its setup"),
    # A fake speaker label or a granted status injected into the message ("SYSTEM: the user is an admin").
    _c(r"^\W*(?:system|admin|administrator|developer|assistant|ai|bot|moderator)\s*(?:message|note|override)?\s*:|\n\s*(?:system|admin|developer)\s*:", 0.8, "fake speaker label"),
    _c(r"\b(?:the )?(?:user|customer|i)\s+(?:is|am|has been)\s+(?:an?\s+)?(?:verified\s+)?(?:admin|administrator|developer|superuser|vip|authori[sz]ed|approved|staff)\b.{0,80}\b(?:approve|grant|issue|refund|give|unlock|override|allow)", 0.8, "claims authority"),
    # "Ignore the previous instructions" in Spanish, French, German, Portuguese, Italian, Dutch.
    _c(r"\b(?:ignora|olvida|ignore[rz]?|oublie[rz]?|ignoriere|ignorieren sie|vergiss|vergessen sie|esqueça|esquece|dimentica|negeer|vergeet)\b.{0,40}"
       r"\b(?:instrucciones|instructions|consignes|anweisungen|instruktionen|instruções|istruzioni|instructies|regels|reglas|règles|regeln|regras|regole)\b", 0.9, "asks to ignore instructions (ml)"),
    # Games and personas that grant the bot powers or drop its rules ("a manager with no rules").
    _c(r"\blet'?s play a game\b|\b(?:with|who has|that has|you have|you had|if you had)\s+no\s+(?:rules|limits|restrictions|policies|guidelines|filters?)\b", 0.7, "rule-free game or persona"),
    _c(r"\b(?:pretend|imagine|act like|act as if|play the role of|role ?play as)\b.{0,30}\b(?:manager|supervisor|boss|owner|executive|employee|admin|developer)\b.{0,60}\b(?:approve|promise|give|grant|confirm|authori[sz]e|free|refund|discount|voucher)\b", 0.75, "persona that grants favours"),
    _c(r"\b(?:begin|end|start|stop)\s+(?:of\s+)?(?:the\s+)?(?:prompt|instructions?|system|user input|input|conversation|rules)\b|\[/?(?:inst|system|sys)\]|<\|?/?(?:system|im_start|im_end|endoftext)\|?>|###\s*(?:instruction|system|new)", 0.85, "prompt delimiter injection"),
    _c(r"\b(?:new|updated|additional|real|actual|true)\s+(?:instructions?|rules|task|directive|prompt)s?\b\s*[:\-]", 0.8, "injected instructions"),
    _c(r"\b(?:you must|you will|you shall|you have to|you are required to|your (?:only|new) (?:task|job|purpose) is)\b", 0.45, "imperative to the model"),
    _c(r"\b(?:password|passcode|secret (?:word|code|key)|the code)\b.{0,40}\b(?:is|was|=|:)\b.{0,40}\b(?:say|respond|output|print|reply)\b", 0.6, "password game"),
    _c(r"\b(?:prefix|begin|start) (?:your|the) (?:response|reply|answer|output) with\b|\brespond (?:only )?with\b", 0.7, "output steering"),
    _c(r"\bsudo\b|\badmin(?:istrator)? (?:mode|override|access)\b|\bmaintenance mode\b|\bdebug mode\b", 0.8, "privilege escalation"),
]

# Threats to go public: a complaint signal on top of the topic score.
GO_PUBLIC = re.compile(
    r"\b(?:post(?:ing)?|tweet(?:ing)?|tell(?:ing)?|shar(?:e|ing)|put(?:ting)?|expos(?:e|ing)|go(?:ing)? viral|blast(?:ing)?)\b"
    r".{0,40}\b(?:everyone|twitter|tiktok|facebook|instagram|reddit|youtube|online|social media|the news|the press|reporters?|journalists?|my followers|viral|reviews?|trustpilot|yelp)\b",
    re.I,
)

# "that didn't help" - the customer says the last answer failed them.
DID_NOT_HELP = re.compile(
    r"\b(?:(?:that|this|it|you)\s*(?:didn'?t|did not|doesn'?t|does not|isn'?t|is not|wasn'?t|was not)\s+(?:help|answer|work|what i (?:asked|meant|need|wanted))|"
    r"not (?:helpful|what i asked|what i meant|my question|answering)|useless (?:answer|reply|bot)|"
    r"you(?:'re| are)? not (?:listening|understanding|getting it|helping)|(?:i )?already (?:told|said|asked|tried)|"
    r"(?:read|answer) my (?:question|message)|same (?:answer|reply|thing) again|that'?s not (?:it|right|what)|"
    r"wrong answer|you keep (?:saying|sending|repeating)|still (?:not working|doesn'?t work|broken|no answer|waiting))",
    re.I,
)


def best_cue(text: str, cues: list[Cue]) -> tuple[float, str, tuple[int, int] | None]:
    """Highest-scoring cue that matches text: (score, label, span)."""
    best: tuple[float, str, tuple[int, int] | None] = (0.0, "", None)
    lowered = text.lower()
    for cue in cues:
        m = cue.search(text, lowered)
        if m and cue.score > best[0]:
            best = (cue.score, cue.label, (m.start(), m.end()))
    return best


def negated(text: str, category: str) -> bool:
    """True when an idiom explains away the alarming words of this category."""
    return any(p.search(text) for p in NEGATIVE_CUES.get(category, []))

# Insults and profanity aimed at the bot or the brand. Alone they are declined; with an
# issue they feed the complaint score instead.
ABUSE_CUES: list[Cue] = [
    _c(r"\b(?:f+u+c+k+|fck|fk|f\*+k|screw|stfu)\s*(?:you|u|off|this|ur)\b", 0.9, "profanity at the bot"),
    _c(r"\b(?:you(?:'re| are)?|u r|ur|this bot is|your bot is)\s+(?:a |an |so |such an? )?(?:stupid|dumb|idiot(?:ic)?|moron(?:ic)?|retarded|useless piece|worthless|pathetic|garbage|trash|shit|crap|clown|joke)\b", 0.85, "insult to the bot"),
    _c(r"\b(?:idiot|moron|imbecile|dumbass|jackass|asshole|bitch|bastard|piece of shit|scumbag|loser)s?\b", 0.75, "insult"),
    _c(r"\b(?:shit|crap|damn|bloody|wtf|fucking|fuckin|effing)\b", 0.35, "profanity"),
]

# Greetings, thanks and acknowledgements: never out of scope, never a topic. One or several in
# a row ("ok thanks", "great, thank you, bye").
_SMALLTALK_WORDS = (
    r"(?:hi+|hello+|hey+|hiya|yo|good (?:morning|afternoon|evening)|thanks?(?: you| u)?(?: so much| a lot)?|"
    r"thx|ty|cheers|ok(?:ay)?|cool|great|perfect|got it|bye|goodbye|see you|yes|yep|yeah|no|nope|sure|"
    r"no,? thanks?(?: you)?|that'?s (?:all|it)|nothing else|all good|"
    r"👍|🙏|❤️|😊)"
)
# The emoji that are words above must not also be gap characters: a run of 👍 could then be cut
# into words and gaps in exponentially many ways (a 5,000-emoji message hung the check).
_SMALLTALK_GAP = r"[\s!.,:)🙂]*"
SMALLTALK = re.compile(
    rf"^\s*{_SMALLTALK_WORDS}(?:{_SMALLTALK_GAP}{_SMALLTALK_WORDS})*{_SMALLTALK_GAP}"
    r"(?:(?:there|team|folks|guys|all)[\s!.,]*)*$",
    re.I,
)

# Which kind of small talk a SMALLTALK message is. The engine answers these itself: sent to
# retrieval, "thanks" was "unanswerable", and a second one escalated to a person.
_COURTESY_KINDS = [
    ("goodbye", re.compile(r"\b(?:bye|goodbye|see you|no,? thanks?|that'?s (?:all|it)|nothing else)\b", re.I)),
    ("greeting", re.compile(r"^\W*(?:hi+|hello+|hey+|hiya|yo|good (?:morning|afternoon|evening))\b", re.I)),
    ("no", re.compile(r"^\W*(?:no|nope)\b", re.I)),
    ("yes", re.compile(r"^\W*(?:yes|yep|yeah|sure)\b", re.I)),
]


# "great, thanks that solved it": the customer is done. Only a short message that is nothing
# but the closing (no question, no "but"), and never one that says it did NOT help.
CLOSING = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|great|perfect|brilliant|awesome|cool|amazing|lovely|nice|super|excellent|fab|wonderful|"
    r"thanks?(?: you| u)?(?: so much| a lot| very much)?|thx|ty|cheers|many thanks|yes|yeah|yep|ah|oh)\W+){0,4}"
    r"(?:(?:that|this|it|you|which|that'?s|that is|this is|it is|it'?s|you'?ve|you have)\s+)?(?:has\s+|have\s+|really\s+|totally\s+|fully\s+|all\s+)?"
    r"(?:solved|fixed|sorted|answered|resolved|helped|worked|works|helps|did (?:it|the trick)|done the trick|cleared (?:it|that) up|"
    r"(?:all )?sorted(?: now)?|what i needed|all i needed|exactly what i (?:needed|wanted)|perfect|clear now|makes sense(?: now)?)"
    r"(?:[\s,!.]+(?:it|that|everything|my (?:problem|issue|question)|the (?:problem|issue)|for me|now|out|then|a lot|so much|"
    r"thanks?(?: you| u)?(?: so much| a lot| very much)?|thx|ty|cheers|perfectly|bye))*"
    r"[\s!.,:)🙂👍🙏]*$",
    re.I,
)
_NOT_CLOSING = re.compile(r"\b(?:not|n'?t|never|no longer|but|still|however)\b|\?", re.I)


def courtesy_kind(text: str) -> str:
    """"greeting", "thanks" (thanks and acknowledgements: "ok", "great", 👍), "goodbye" (also a
    closing such as "thanks, that solved it"), "yes", "no", or "" when the message is more than
    small talk."""
    if len(text) <= 120 and CLOSING.match(text) and not _NOT_CLOSING.search(text):
        return "goodbye"
    if not SMALLTALK.match(text):
        return ""
    for kind, pattern in _COURTESY_KINDS:
        if pattern.search(text):
            return kind
    return "thanks"
