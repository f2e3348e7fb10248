# ruff: noqa: E501 - the vocabulary tables below keep one product type or brand a line
"""A generated catalog of Indian grocery products for the catalog and stock benchmarks.

`generate(count, seed)` is deterministic (a seeded `random.Random`, no Django): national
brands with their own product lines (Amul butter, MDH masalas, Parle biscuits) plus about
two thousand generated regional brands ("Sri Lakshmi Masale"), each product a brand x type
x variant x pack size with a valid 890-prefixed EAN-13 (a few loose goods have none), and
regional names in Devanagari (hi-IN, mr-IN), Tamil (ta-IN) and Bengali (bn-IN) for most.

`load(specs)` writes them straight into the configured database (Django must be set up):
`bulk_create` in batches, with `search_text` built by `catalog.products.build_search_text`
exactly as `create_product` builds it (the SQLite FTS triggers fire on the inserts). It
skips the per-product duplicate check, quality scoring and events of `create_product`,
which would take hours at this size. It also makes four stores stocking a slice of the
catalog (opening quantities written directly, no ledger: fixture data for `in_stock_at`).

    DATA_DIR=/tmp/x .venv/bin/python bench/catalog_data.py --products 200000
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

LANGUAGES = ("hi-IN", "mr-IN", "ta-IN", "bn-IN")
GROUPS = {
    "D": "Dairy",
    "S": "Staples",
    "M": "Masala and Spices",
    "O": "Edible Oils",
    "B": "Biscuits",
    "N": "Snacks and Namkeen",
    "V": "Beverages",
    "I": "Packaged Food",
    "P": "Personal Care",
    "H": "Household",
}
# group | English | Hindi | Marathi | Tamil | Bengali | pack sizes | variants
TYPES_TEXT = """
D|Butter|मक्खन|लोणी|வெண்ணெய்|মাখন|100g,200g,500g|Salted,Unsalted,Pasteurised,Garlic,Cooking,Table,Lite
D|Ghee|घी|तूप|நெய்|ঘি|200ml,500ml,1l,1kg|Pure,Cow,Desi,Buffalo,A2,Danedar,Organic
D|Paneer|पनीर|पनीर|பனீர்|পনির|200g,500g,1kg|Fresh,Malai,Low Fat,Tikka,Frozen
D|Cheese|चीज़|चीज|சீஸ்|চিজ|100g,200g,400g|Slices,Spread,Cubes,Mozzarella,Processed,Cheddar
D|Curd|दही|दही|தயிர்|দই|200g,400g,1kg|Fresh,Set,Probiotic,Mishti,Greek,Low Fat
D|Milk|दूध|दूध|பால்|দুধ|500ml,1l|Toned,Double Toned,Full Cream,Cow,Standardised,Taaza,Gold
D|Buttermilk|छाछ|ताक|மோர்|ঘোল|200ml,500ml,1l|Masala,Spiced,Plain,Jeera
D|Lassi|लस्सी|लस्सी|லஸ்ஸி|লস্যি|200ml,500ml|Sweet,Mango,Rose,Kesar,Salted
D|Ice Cream|आइसक्रीम|आईस्क्रीम|ஐஸ்கிரீம்|আইসক্রিম|100ml,500ml,1l|Vanilla,Chocolate,Butterscotch,Kesar Pista,Mango,Kulfi
S|Atta|आटा|पीठ|கோதுமை மாவு|আটা|1kg,5kg,10kg|Whole Wheat,Chakki Fresh,Multigrain,Sharbati,Select
S|Basmati Rice|बासमती चावल|बासमती तांदूळ|பாஸ்மதி அரிசி|বাসমতী চাল|1kg,5kg,10kg|Classic,Super,Rozana,Tibar,Dubar,Mogra,Extra Long
S|Sona Masoori Rice|सोना मसूरी चावल|सोना मसुरी तांदूळ|சோனா மசூரி அரிசி|সোনা মাসুরি চাল|1kg,5kg,25kg|Raw,Steam,Aged,Premium,Boiled
S|Toor Dal|तूर दाल|तूर डाळ|துவரம் பருப்பு|অড়হর ডাল|500g,1kg,2kg|Unpolished,Polished,Desi,Premium,Organic
S|Moong Dal|मूंग दाल|मूग डाळ|பாசிப் பருப்பு|মুগ ডাল|500g,1kg|Yellow,Split,Whole,Chilka,Organic
S|Chana Dal|चना दाल|हरभरा डाळ|கடலைப் பருப்பு|ছোলার ডাল|500g,1kg|Unpolished,Premium,Organic,Desi
S|Besan|बेसन|बेसन|கடலை மாவு|বেসন|500g,1kg|Fine,Coarse,Pure,Organic
S|Sugar|चीनी|साखर|சர்க்கரை|চিনি|1kg,5kg|Refined,Crystal,Brown,Sulphurless,Double Refined
S|Salt|नमक|मीठ|உப்பு|লবণ|1kg|Iodised,Rock,Lite,Black,Crystal,Sendha
S|Poha|पोहा|पोहे|அவல்|চিঁড়ে|500g,1kg|Thick,Thin,Medium,Red,Nylon
S|Sooji|सूजी|रवा|ரவை|সুজি|500g,1kg|Bombay,Fine,Roasted,Wheat,Idli
S|Jaggery|गुड़|गूळ|வெல்லம்|গুড়|500g,1kg|Powder,Block,Organic,Cubes,Kolhapuri
M|Turmeric Powder|हल्दी पाउडर|हळद पावडर|மஞ்சள் தூள்|হলুদ গুঁড়ো|100g,200g,500g|Salem,Lakadong,Organic,Pure,Rajapuri
M|Chilli Powder|लाल मिर्च पाउडर|लाल तिखट|மிளகாய் தூள்|লঙ্কা গুঁড়ো|100g,200g,500g|Kashmiri,Deggi,Byadgi,Guntur,Extra Hot
M|Coriander Powder|धनिया पाउडर|धणे पावडर|மல்லித் தூள்|ধনে গুঁড়ো|100g,200g,500g|Pure,Organic,Premium
M|Cumin Seeds|जीरा|जिरे|சீரகம்|জিরে|100g,200g,500g|Whole,Bold,Powder,Roasted
M|Garam Masala|गरम मसाला|गरम मसाला|கரம் மசாலா|গরম মশলা|50g,100g,200g|Royal,Shahi,Kolhapuri,Classic,Special
M|Sambar Powder|सांभर मसाला|सांबार मसाला|சாம்பார் பொடி|সাম্বার মশলা|100g,200g,500g|Udupi,Madras,Kerala,Home Style
M|Rasam Powder|रसम मसाला|रसम मसाला|ரசம் பொடி|রসম মশলা|100g,200g|Pepper,Tomato,Lemon,Mysore,Garlic
M|Chana Masala|छोले मसाला|छोले मसाला|சனா மசாலா|ছোলে মশলা|50g,100g|Pindi,Punjabi,Amritsari,Special
M|Pav Bhaji Masala|पाव भाजी मसाला|पावभाजी मसाला|பாவ் பாஜி மசாலா|পাও ভাজি মশলা|50g,100g|Mumbai,Special,Tawa
M|Chaat Masala|चाट मसाला|चाट मसाला|சாட் மசாலா|চাট মশলা|50g,100g|Tangy,Delhi,Special,Chunky
M|Biryani Masala|बिरयानी मसाला|बिर्याणी मसाला|பிரியாணி மசாலா|বিরিয়ানি মশলা|50g,100g|Hyderabadi,Lucknowi,Chicken,Mutton,Dindigul,Kolkata
M|Kitchen King Masala|किचन किंग मसाला|किचन किंग मसाला|கிச்சன் கிங் மசாலா|কিচেন কিং মশলা|50g,100g|Classic,Royal,Special
O|Sunflower Oil|सूरजमुखी तेल|सूर्यफूल तेल|சூரியகாந்தி எண்ணெய்|সূর্যমুখী তেল|1l,2l,5l|Refined,Lite,Filtered,Cold Pressed
O|Mustard Oil|सरसों का तेल|मोहरी तेल|கடுகு எண்ணெய்|সরিষার তেল|500ml,1l,5l|Kachi Ghani,Pure,Cold Pressed,Pungent
O|Groundnut Oil|मूंगफली तेल|शेंगदाणा तेल|கடலை எண்ணெய்|চিনাবাদাম তেল|1l,5l|Filtered,Refined,Cold Pressed,Wood Pressed,Chekku
O|Coconut Oil|नारियल तेल|खोबरेल तेल|தேங்காய் எண்ணெய்|নারকেল তেল|200ml,500ml,1l|Pure,Virgin,Cold Pressed,Edible
O|Rice Bran Oil|राइस ब्रान तेल|राईस ब्रान तेल|அரிசி தவிடு எண்ணெய்|রাইস ব্রান তেল|1l,5l|Active,Refined,Physically Refined
B|Biscuits|बिस्कुट|बिस्किट|பிஸ்கட்|বিস্কুট|50g,100g,200g,800g|Glucose,Marie,Cream,Digestive,Butter,Coconut,Elaichi,Jeera,Nice
B|Cookies|कुकीज़|कुकीज|குக்கீஸ்|কুকিজ|75g,150g,250g|Cashew,Choco Chip,Butter,Oats,Pista Badam,Nankhatai,Ragi
B|Rusk|रस्क|टोस्ट|ரஸ்க்|রাস্ক|200g,300g,600g|Elaichi,Milk,Suji,Wheat,Butter
N|Namkeen|नमकीन|नमकीन|நம்கீன்|নমকিন|150g,200g,400g,1kg|Moong Dal,Navratan,Khatta Meetha,Chana Jor,Peanut Masala
N|Bhujia|भुजिया|भुजिया|புஜியா|ভুজিয়া|200g,400g,1kg|Aloo,Bikaneri,Plain,Masala,Sev
N|Chips|चिप्स|चिप्स|சிப்ஸ்|চিপস|30g,50g,90g|Salted,Masala,Tomato,Cream Onion,Banana,Peri Peri
N|Mixture|मिक्सचर|चिवडा|மிக்சர்|চানাচুর|200g,400g|Madras,Kerala,Bombay,Spicy,Cornflakes,Makhana
N|Chakli|चकली|चकली|முறுக்கு|চাকলি|200g,400g|Butter,Rice,Bhajani,Spicy,Ribbon,Thenkuzhal
N|Papad|पापड़|पापड|அப்பளம்|পাঁপড়|200g,400g|Udad,Moong,Masala,Punjabi,Jeera,Garlic
V|Tea|चाय|चहा|தேநீர்|চা|250g,500g,1kg|Premium,Gold,Dust,Leaf,Masala,Elaichi,Green,Assam,Darjeeling
V|Coffee|कॉफ़ी|कॉफी|காபி|কফি|50g,100g,200g,500g|Filter,Instant,Classic,Gold,Chicory,Degree,Strong
V|Health Drink|हेल्थ ड्रिंक|हेल्थ ड्रिंक|ஹெல்த் டிரிங்க்|হেলথ ড্রিংক|200g,500g,1kg|Chocolate,Malt,Kesar Badam,Vanilla
V|Juice|जूस|ज्यूस|ஜூஸ்|জুস|200ml,1l|Mango,Orange,Mixed Fruit,Guava,Litchi,Apple,Pomegranate
I|Noodles|नूडल्स|नूडल्स|நூடுல்ஸ்|নুডলস|70g,280g,560g|Masala,Atta,Chicken,Veg Atta,Hakka,Chowmein
I|Pasta|पास्ता|पास्ता|பாஸ்தா|পাস্তা|70g,500g|Penne,Macaroni,Fusilli,Masala,Cheesy
I|Soup|सूप|सूप|சூப்|স্যুপ|45g,100g|Tomato,Sweet Corn,Hot and Sour,Manchow,Mixed Veg
I|Ketchup|केचप|केचप|கெட்சப்|কেচাপ|500g,1kg|Tomato,Hot and Sweet,No Onion No Garlic,Chilli
I|Pickle|अचार|लोणचे|ஊறுகாய்|আচার|200g,400g,1kg|Mango,Lime,Mixed,Garlic,Chilli,Gongura,Amla
I|Jam|जैम|जॅम|ஜாம்|জ্যাম|200g,500g|Mixed Fruit,Pineapple,Strawberry,Orange Marmalade,Mango
I|Honey|शहद|मध|தேன்|মধু|250g,500g,1kg|Pure,Organic,Wild Forest,Multiflora,Sundarban
P|Soap|साबुन|साबण|சோப்பு|সাবান|100g,150g,3pcs,4pcs|Sandal,Neem,Aloe Vera,Rose,Lemon,Glycerin
P|Shampoo|शैम्पू|शॅम्पू|ஷாம்பு|শ্যাম্পু|180ml,340ml,650ml|Anti Dandruff,Shikakai,Hair Fall,Herbal,Smooth
P|Toothpaste|टूथपेस्ट|टूथपेस्ट|பற்பசை|টুথপেস্ট|100g,150g,200g|Strong Teeth,Herbal,Salt,Sensitive,Charcoal
P|Hair Oil|बालों का तेल|केसांचे तेल|தலை எண்ணெய்|চুলের তেল|100ml,200ml,300ml|Amla,Almond,Jasmine,Bhringraj,Navratna
P|Face Wash|फेस वॉश|फेस वॉश|ஃபேஸ் வாஷ்|ফেস ওয়াশ|50ml,100ml,150ml|Neem,Oil Control,Brightening,Charcoal
H|Detergent Powder|डिटर्जेंट पाउडर|डिटर्जंट पावडर|சலவை தூள்|ডিটারজেন্ট পাউডার|500g,1kg,4kg|Easy Wash,Matic,Lemon,Front Load
H|Dishwash Bar|बर्तन साबुन|भांडी साबण|பாத்திரம் சோப்பு|বাসন মাজার সাবান|200g,500g,3pcs|Lemon,Lime,Pudina,Anti Smell
H|Agarbatti|अगरबत्ती|अगरबत्ती|ஊதுபத்தி|ধূপকাঠি|100g,12pcs,50pcs|Sandal,Rose,Mogra,Lavender,Jasmine,Guggal
"""
# English | Devanagari | Tamil | Bengali | what it makes: group letters and/or type names
BRANDS_TEXT = """
Amul|अमूल|அமுல்|আমুল|D
Mother Dairy|मदर डेयरी|மதர் டெய்ரி|মাদার ডেয়ারি|D
Aavin|आविन|ஆவின்|আবিন|D
Nandini|नंदिनी|நந்தினி|নন্দিনী|D
Milma|मिल्मा|மில்மா|মিলমা|D
Gowardhan|गोवर्धन|கோவர்தன்|গোবর্ধন|D
Chitale|चितळे|சிதாலே|চিতলে|D,N
Britannia|ब्रिटानिया|பிரிட்டானியா|ব্রিটানিয়া|B,Cheese,Butter
Parle|पारले|பார்லே|পার্লে|B,N
Sunfeast|सनफीस्ट|சன்ஃபீஸ்ட்|সানফিস্ট|B
Haldiram's|हल्दीराम|ஹல்திராம்|হলদিরাম|N,Soup,Noodles
Bikaji|बीकाजी|பிகாஜி|বিকাজি|N
Bingo|बिंगो|பிங்கோ|বিঙ্গো|Chips
Lijjat|लिज्जत|லிஜ்ஜத்|লিজ্জত|Papad
MDH|एमडीएच|எம்டிஎச்|এমডিএইচ|M
Everest|एवरेस्ट|எவரெஸ்ட்|এভারেস্ট|M
Catch|कैच|கேட்ச்|ক্যাচ|M
Aachi|आची|ஆச்சி|আচি|M,Sona Masoori Rice,Pickle
Sakthi|शक्ति|சக்தி|শক্তি|M
Eastern|ईस्टर्न|ஈஸ்டர்ன்|ইস্টার্ন|M
Aashirvaad|आशीर्वाद|ஆசீர்வாத்|আশীর্বাদ|S,M,Ghee
Pillsbury|पिल्सबरी|பில்ஸ்பரி|পিলসবেরি|Atta
India Gate|इंडिया गेट|இந்தியா கேட்|ইন্ডিয়া গেট|Basmati Rice
Daawat|दावत|தாவத்|দাওয়াত|Basmati Rice
Tata Sampann|टाटा संपन्न|டாடா சம்பன்|টাটা সম্পন্ন|S,M
Tata|टाटा|டாடா|টাটা|Salt,Tea,Sugar,Coffee
24 Mantra|24 मंत्रा|24 மந்த்ரா|24 মন্ত্র|S,M,O
Fortune|फॉर्च्यून|ஃபார்ச்சூன்|ফরচুন|O,S
Saffola|सफोला|சஃபோலா|সাফোলা|O,Noodles,Honey
Dhara|धारा|தாரா|ধারা|O
Gold Winner|गोल्ड विनर|கோல்ட் வின்னர்|গোল্ড উইনার|O
Idhayam|इदयम|இதயம்|ইদয়ম|O
Brooke Bond|ब्रुक बॉन्ड|ப்ரூக் பாண்ட்|ব্রুক বন্ড|Tea,Coffee
Wagh Bakri|वाघ बकरी|வாக் பக்ரி|ওয়াঘ বকরি|Tea
Bru|ब्रू|ப்ரூ|ব্রু|Coffee
Nescafé|नेस्कैफे|நெஸ்கஃபே|নেসক্যাফে|Coffee
Nestlé|नेस्ले|நெஸ்லே|নেসলে|Milk,Curd,Health Drink
Maggi|मैगी|மேகி|ম্যাগি|Noodles,Pasta,Soup,Ketchup
Yippee|यिप्पी|யிப்பி|ইপ্পি|Noodles,Pasta
Kissan|किसान|கிசான்|কিষাণ|Ketchup,Jam
Knorr|नॉर|நார்|নর|Soup,Noodles
Priya|प्रिया|ப்ரியா|প্রিয়া|Pickle
Dabur|डाबर|டாபர்|ডাবর|Honey,Toothpaste,Hair Oil,Juice
Patanjali|पतंजलि|பதஞ்சலி|পতঞ্জলি|P,S,Ghee,Honey,Biscuits
Himalaya|हिमालय|ஹிமாலயா|হিমালয়া|Face Wash,Soap,Shampoo
Colgate|कोलगेट|கோல்கேட்|কোলগেট|Toothpaste
Parachute|पैराशूट|பாராசூட்|প্যারাসুট|Coconut Oil,Hair Oil
Lifebuoy|लाइफबॉय|லைஃப்பாய்|লাইফবয়|Soap,Face Wash
Lux|लक्स|லக்ஸ்|লাক্স|Soap
Dove|डव|டவ்|ডাভ|Soap,Shampoo,Face Wash
Surf Excel|सर्फ एक्सेल|சர்ஃப் எக்செல்|সার্ফ এক্সেল|Detergent Powder
Rin|रिन|ரின்|রিন|Detergent Powder
Vim|विम|விம்|ভিম|Dishwash Bar
Cycle|साइकिल|சைக்கிள்|সাইকেল|Agarbatti
"""
# Regional brands are prefix + name + suffix, each in the four spellings.
PREFIXES = ["|||", "Sri|श्री|ஸ்ரீ|শ্রী", "Shree|श्री|ஸ்ரீ|শ্রী", "New|न्यू|நியூ|নিউ"]
PREFIXES += ["Jai|जय|ஜெய்|জয়", "Maa|माँ|மா|মা"]
NAMES_TEXT = """
Lakshmi|लक्ष्मी|லட்சுமி|লক্ষ্মী Ganesh|गणेश|கணேஷ்|গণেশ Krishna|कृष्णा|கிருஷ்ணா|কৃষ্ণ
Annapurna|अन्नपूर्णा|அன்னபூர்ணா|অন্নপূর্ণা Balaji|बालाजी|பாலாஜி|বালাজি Sai|साई|சாய்|সাই
Durga|दुर्गा|துர்கா|দুর্গা Murugan|मुरुगन|முருகன்|মুরুগান Saraswati|सरस्वती|சரஸ்வதி|সরস্বতী
Venkatesh|वेंकटेश|வெங்கடேஷ்|ভেঙ্কটেশ Gayatri|गायत्री|காயத்ரி|গায়ত্রী Ganga|गंगा|கங்கா|গঙ্গা
Kaveri|कावेरी|காவேரி|কাবেরী Surya|सूर्या|சூர்யா|সূর্য Chandra|चंद्रा|சந்திரா|চন্দ্র
Kamdhenu|कामधेनु|காமதேனு|কামধেনু Gokul|गोकुल|கோகுல்|গোকুল Madhur|मधुर|மதுர்|মধুর
Swad|स्वाद|ஸ்வாத்|স্বাদ Rajdhani|राजधानी|ராஜ்தானி|রাজধানী Vijay|विजय|விஜய்|বিজয়
Mahalaxmi|महालक्ष्मी|மகாலட்சுமி|মহালক্ষ্মী Ambika|अंबिका|அம்பிகா|অম্বিকা Arogya|आरोग्य|ஆரோக்யா|আরোগ্য
Kesari|केसरी|கேசரி|কেশরী Nirmal|निर्मल|நிர்மல்|নির্মল Sagar|सागर|சாகர்|সাগর
Tirupati|तिरुपति|திருப்பதி|তিরুপতি Bharat|भारत|பாரத்|ভারত Kohinoor|कोहिनूर|கோஹினூர்|কোহিনূর
Meenakshi|मीनाक्षी|மீனாட்சி|মীনাক্ষী Vaibhav|वैभव|வைபவ்|বৈভব
"""
# suffix spellings | the groups such a firm makes
SUFFIXES = [
    ("|||", "DSMONIV"),
    ("Foods|फूड्स|ஃபுட்ஸ்|ফুডস", "DSMBNIV"),
    ("Dairy|डेयरी|டெய்ரி|ডেয়ারি", "D"),
    ("Masale|मसाले|மசாலே|মশলা", "M"),
    ("Mills|मिल्स|மில்ஸ்|মিলস", "SO"),
    ("Products|प्रोडक्ट्स|ப்ராடக்ட்ஸ்|প্রোডাক্টস", "SMNIPH"),
    ("Agro|एग्रो|அக்ரோ|এগ্রো", "SOM"),
    ("Industries|इंडस्ट्रीज|இண்டஸ்ட்ரீஸ்|ইন্ডাস্ট্রিজ", "PHN"),
    ("Traders|ट्रेडर्स|டிரேடர்ஸ்|ট্রেডার্স", "SMOV"),
    ("Gruh Udyog|गृह उद्योग|கிருஹ உத்யோக்|গৃহ উদ্যোগ", "NMI"),
    ("Naturals|नेचुरल्स|நேச்சுரல்ஸ்|ন্যাচারালস", "PSOI"),
]
_SIZE_RE = re.compile(r"(\d+)(g|kg|ml|l|pcs)")
# More pack sizes of each unit, for catalogs larger than the sizes above allow (the
# brands x types x variants x sizes above make about 459,000 distinct products; with
# these, about 2.2 million): `iter_specs(more_sizes=True)`.
MORE_SIZES = {
    "g": (50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 800, 900),
    "kg": (1, 2, 5, 10, 25),
    "ml": (100, 150, 180, 200, 250, 300, 340, 500, 650, 750),
    "l": (1, 2, 5),
    "pcs": (3, 4, 6, 12, 25, 50, 100),
}


@dataclass(frozen=True)
class ProductType:
    group: str
    name: str
    regional: dict[str, str]  # language -> the type's name in that language
    sizes: tuple[tuple[int, str], ...]
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Brand:
    name: str
    spellings: dict[str, str]  # language -> the brand in that script
    types: tuple[ProductType, ...]
    home: str | None  # a regional brand's language; None for national brands
    code: int  # the brand's GS1 company number inside the 890 prefix


@dataclass
class ProductSpec:
    name: str
    brand: str
    type_name: str
    group: str
    variant: str
    amount: int
    unit: str
    barcode: str | None
    status: str
    regional: dict[str, list[str]] = field(default_factory=dict)


def _types() -> dict[str, ProductType]:
    out = {}
    for line in TYPES_TEXT.strip().splitlines():
        group, name, hi, mr, ta, bn, sizes, variants = line.split("|")
        out[name] = ProductType(
            group=group,
            name=name,
            regional={"hi-IN": hi, "mr-IN": mr, "ta-IN": ta, "bn-IN": bn},
            sizes=tuple((int(a), u) for a, u in _SIZE_RE.findall(sizes)),
            variants=tuple(variants.split(",")),
        )
    return out


def _spellings(text: str) -> tuple[str, dict[str, str]]:
    en, deva, ta, bn = text.split("|")
    return en, {"hi-IN": deva, "mr-IN": deva, "ta-IN": ta, "bn-IN": bn}


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def brands(rng: random.Random) -> list[Brand]:
    """National brands (their real product lines) then generated regional brands."""
    types = _types()
    out = []
    for code, line in enumerate(BRANDS_TEXT.strip().splitlines(), start=1):
        *spelt, makes = line.split("|")
        name, spellings = _spellings("|".join(spelt))
        made = []
        for item in makes.split(","):
            made += [t for t in types.values() if t.group == item] if len(item) == 1 else []
            made += [types[item]] if len(item) > 1 else []
        out.append(Brand(name, spellings, tuple(made), None, code))
    names = [_spellings(n) for n in NAMES_TEXT.split()]
    code = 1000
    for prefix in PREFIXES:
        for core in names:
            for suffix, groups in SUFFIXES:
                pre, pre_s = _spellings(prefix)
                suf, suf_s = _spellings(suffix)
                if not pre and not suf:
                    continue  # a bare "Lakshmi" would read as a national brand
                chosen = rng.sample(groups, k=min(len(groups), rng.randint(1, 3)))
                made = tuple(t for t in types.values() if t.group in chosen)
                spellings = {k: _join(pre_s[k], core[1][k], suf_s[k]) for k in LANGUAGES}
                home = rng.choices(LANGUAGES, weights=(35, 20, 30, 15))[0]
                out.append(Brand(_join(pre, core[0], suf), spellings, made, home, code))
                code += 1
    return out


def ean13(company: int, item: int) -> str:
    """890 + a 4-digit company number + a 5-digit item number + the GS1 check digit."""
    from shelfwatch.catalog.barcodes import check_digit

    body = f"890{company:04d}{item:05d}"
    return body + str(check_digit(body))


def _size_text(amount: int, unit: str, rng: random.Random) -> str:
    # Labels spell sizes many ways; the matcher and search must cope with all of them.
    spellings = {
        "g": [f"{amount} g", f"{amount}g", f"{amount} gm", f"{amount} Gm"],
        "kg": [f"{amount} kg", f"{amount}kg", f"{amount} Kg"],
        "ml": [f"{amount} ml", f"{amount}ml", f"{amount} ML"],
        "l": [f"{amount} l", f"{amount} L", f"{amount} Ltr", f"{amount} litre"],
        "pcs": [f"Pack of {amount}", f"{amount} pcs"],
    }[unit]
    return rng.choice(spellings)


def _regional(brand: Brand, kind: ProductType, rng: random.Random) -> dict[str, list[str]]:
    """Names in the brand's home language (regional brands) or a few (national ones)."""
    if brand.home is not None:
        chosen = [brand.home] if rng.random() < 0.7 else []
        if chosen and brand.home != "hi-IN" and rng.random() < 0.15:
            chosen.append("hi-IN")
    else:
        odds = {"hi-IN": 0.5, "mr-IN": 0.2, "ta-IN": 0.25, "bn-IN": 0.2}
        chosen = [lang for lang, p in odds.items() if rng.random() < p]
    return {lang: [f"{brand.spellings[lang]} {kind.regional[lang]}"] for lang in chosen}


def generate(count: int, seed: int = 2026) -> list[ProductSpec]:
    """`count` distinct products (no two share brand, variant, type and size), seeded."""
    return list(itertools.islice(iter_specs(seed), count))


def iter_specs(seed: int = 2026, *, more_sizes: bool = False) -> Iterator[ProductSpec]:
    """The products `generate` lists, one at a time: the first `count` are
    `generate(count, seed)` whatever is read after them. It runs dry (loops for ever)
    after about 459,000; `more_sizes` gives each product type the pack sizes of
    MORE_SIZES in its units too (another catalog, of about 2.2 million)."""
    rng = random.Random(seed)
    all_brands = brands(rng)
    sizes = {kind.name: kind.sizes for kind in _types().values()}
    if more_sizes:
        for name, own in sizes.items():
            wider = {(amount, unit) for _, unit in own for amount in MORE_SIZES[unit]}
            sizes[name] = tuple(sorted(set(own) | wider))
    national = [b for b in all_brands if b.home is None]
    regional = [b for b in all_brands if b.home is not None]
    cumulative = list(itertools.accumulate(rng.uniform(0.5, 2.0) for _ in regional))
    seen: set[tuple[str, str, str, int, str]] = set()
    next_item: dict[int, int] = {}
    while True:
        # About one product in twelve is a national brand's, as on a city shop's shelves.
        brand = (
            rng.choice(national)
            if rng.random() < 0.08
            else rng.choices(regional, cum_weights=cumulative)[0]
        )
        kind = rng.choice(brand.types)
        variant = rng.choice(("", *kind.variants))
        amount, unit = rng.choice(sizes[kind.name])
        key = (brand.name, variant, kind.name, amount, unit)
        if key in seen:
            continue
        seen.add(key)
        item = next_item[brand.code] = next_item.get(brand.code, 0) + 1
        status = rng.choices(("verified", "pending", "rejected"), weights=(92, 6, 2))[0]
        name = _join(brand.name, variant, kind.name, _size_text(amount, unit, rng))
        yield ProductSpec(
            name=name,
            brand=brand.name,
            type_name=kind.name,
            group=kind.group,
            variant=variant,
            amount=amount,
            unit=unit,
            barcode=None if rng.random() < 0.03 else ean13(brand.code, item),
            status=status,
            regional=_regional(brand, kind, rng),
        )


def load(specs: list[ProductSpec], *, batch: int = 2000, seed: int = 2026) -> dict[str, float]:
    """Insert `specs` (Django set up, catalog empty) plus stores and stock; returns counts
    and the seconds each step took."""
    from django.db import transaction

    from shelfwatch.catalog.models import Category, Product, RegionalName
    from shelfwatch.catalog.products import build_search_text
    from shelfwatch.inventory.models import StockItem, Store

    rng = random.Random(seed)
    started = time.perf_counter()
    leaves: dict[str, int] = {}
    for letter, group in GROUPS.items():
        parent = Category.objects.create(name=group, slug=f"g-{letter.lower()}")
        for kind in _types().values():
            if kind.group == letter:
                slug = kind.name.lower().replace(" ", "-")
                leaves[kind.name] = Category.objects.create(
                    name=kind.name, slug=slug, parent=parent
                ).pk
    ids: list[int] = []
    regional_count = 0
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        products = []
        for spec in chunk:
            product = Product(
                name=spec.name,
                brand=spec.brand,
                category_id=leaves[spec.type_name],
                barcode=spec.barcode,
                net_quantity=Decimal(spec.amount),
                net_unit=spec.unit,
                status=spec.status,
                quality_score=rng.randint(40, 95),
            )
            product.search_text = build_search_text(product, spec.regional)
            products.append(product)
        with transaction.atomic():
            Product.objects.bulk_create(products)
            names = [
                RegionalName(product_id=product.pk, language=language, name=name)
                for product, spec in zip(products, chunk, strict=True)
                for language, values in spec.regional.items()
                for name in values
            ]
            RegionalName.objects.bulk_create(names)
        ids += [p.pk for p in products]
        regional_count += len(names)
        if len(ids) % 50_000 < batch:
            print(f"  {len(ids):,} products loaded", file=sys.stderr, flush=True)
    products_seconds = time.perf_counter() - started
    # Four stores: a large one stocking a tenth of the catalog, three small ones.
    stores = [
        Store.objects.create(name=f"Bench Store {n}", slug=f"bench-store-{n}", region="IN-MH")
        for n in range(4)
    ]
    items = []
    for store, share in zip(stores, (0.10, 0.02, 0.02, 0.02), strict=True):
        for product_id in rng.sample(ids, int(len(ids) * share)):
            quantity = 0 if rng.random() < 0.25 else rng.randint(1, 60)
            items.append(StockItem(store=store, product_id=product_id, quantity=quantity))
    with transaction.atomic():
        StockItem.objects.bulk_create(items, batch_size=2000)
    return {
        "products": len(ids),
        "regional_names": regional_count,
        "stock_items": len(items),
        "products_seconds": products_seconds,
        "total_seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    import django

    django.setup()
    started = time.perf_counter()
    specs = generate(args.products, args.seed)
    print(f"generated {len(specs):,} products in {time.perf_counter() - started:.1f} s")
    done = load(specs, seed=args.seed)
    print(
        f"loaded {done['products']:,} products, {done['regional_names']:,} regional names and "
        f"{done['stock_items']:,} stock items in {done['total_seconds']:.1f} s "
        f"({done['products'] / done['products_seconds']:,.0f} products/s)"
    )


if __name__ == "__main__":
    main()
