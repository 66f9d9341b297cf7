/// CHAIR's object list: per line a COCO category, then the words that name it, ", "-separated.
///
/// This is the data file `data/synonyms.txt` of Rohrbach et al.'s CHAIR code
/// (github.com/LisaAnne/Hallucination, BSD 2-Clause license, Copyright (c) 2018 Lisa Anne
/// Hendricks and Anna Rohrbach), as OPERA's standalone `chair.py` embeds it. It is reproduced
/// exactly, quirks included, because CHAIR figures are only comparable with the same list: the
/// double spaces before "motor bike" and "cheesecake" make those entries unmatchable (the script
/// splits at ", "), and "iPhone" never matches lowercased text.
enum CHAIRSynonyms {
    static let text = """
        person, girl, boy, man, woman, kid, child, chef, baker, people, adult, rider, children, baby, worker, passenger, sister, biker, policeman, cop, officer, lady, cowboy, bride, groom, male, female, guy, traveler, mother, father, gentleman, pitcher, player, skier, snowboarder, skater, skateboarder, person, woman, guy, foreigner, child, gentleman, caller, offender, coworker, trespasser, patient, politician, soldier, grandchild, serviceman, walker, drinker, doctor, bicyclist, thief, buyer, teenager, student, camper, driver, solider, hunter, shopper, villager
        bicycle, bike, bicycle, bike, unicycle, minibike, trike
        car, automobile, van, minivan, sedan, suv, hatchback, cab, jeep, coupe, taxicab, limo, taxi
        motorcycle, scooter,  motor bike, motor cycle, motorbike, scooter, moped
        airplane, jetliner, plane, air plane, monoplane, aircraft, jet, jetliner, airbus, biplane, seaplane
        bus, minibus, trolley
        train, locomotive, tramway, caboose
        truck, pickup, lorry, hauler, firetruck
        boat, ship, liner, sailboat, motorboat, dinghy, powerboat, speedboat, canoe, skiff, yacht, kayak, catamaran, pontoon, houseboat, vessel, rowboat, trawler, ferryboat, watercraft, tugboat, schooner, barge, ferry, sailboard, paddleboat, lifeboat, freighter, steamboat, riverboat, battleship, steamship
        traffic light, street light, traffic signal, stop light, streetlight, stoplight
        fire hydrant, hydrant
        stop sign
        parking meter
        bench, pew
        bird, ostrich, owl, seagull, goose, duck, parakeet, falcon, robin, pelican, waterfowl, heron, hummingbird, mallard, finch, pigeon, sparrow, seabird, osprey, blackbird, fowl, shorebird, woodpecker, egret, chickadee, quail, bluebird, kingfisher, buzzard, willet, gull, swan, bluejay, flamingo, cormorant, parrot, loon, gosling, waterbird, pheasant, rooster, sandpiper, crow, raven, turkey, oriole, cowbird, warbler, magpie, peacock, cockatiel, lorikeet, puffin, vulture, condor, macaw, peafowl, cockatoo, songbird
        cat, kitten, feline, tabby
        dog, puppy, beagle, pup, chihuahua, schnauzer, dachshund, rottweiler, canine, pitbull, collie, pug, terrier, poodle, labrador, doggie, doberman, mutt, doggy, spaniel, bulldog, sheepdog, weimaraner, corgi, cocker, greyhound, retriever, brindle, hound, whippet, husky
        horse, colt, pony, racehorse, stallion, equine, mare, foal, palomino, mustang, clydesdale, bronc, bronco
        sheep, lamb, ram, lamb, goat, ewe
        cow, cattle, oxen, ox, calf, cattle, holstein, heifer, buffalo, bull, zebu, bison\u{20}
        elephant
        bear, panda
        zebra
        giraffe
        backpack, knapsack
        umbrella
        handbag, wallet, purse, briefcase
        tie, bow, bow tie
        suitcase, suit case, luggage
        frisbee
        skis, ski
        snowboard
        sports ball, ball
        kite
        baseball bat
        baseball glove
        skateboard
        surfboard, longboard, skimboard, shortboard, wakeboard
        tennis racket, racket
        bottle
        wine glass
        cup
        fork
        knife, pocketknife, knive
        spoon
        bowl, container
        banana
        apple
        sandwich, burger, sub, cheeseburger, hamburger
        orange
        broccoli
        carrot
        hot dog
        pizza
        donut, doughnut, bagel
        cake,  cheesecake, cupcake, shortcake, coffeecake, pancake
        chair, seat, stool
        couch, sofa, recliner, futon, loveseat, settee, chesterfield\u{20}
        potted plant, houseplant
        bed
        dining table, table, desk
        toilet, urinal, commode, toilet, lavatory, potty
        tv, monitor, televison, television
        laptop, computer, notebook, netbook, lenovo, macbook, laptop computer
        mouse
        remote
        keyboard
        cell phone, mobile phone, phone, cellphone, telephone, phon, smartphone, iPhone
        microwave
        oven, stovetop, stove, stove top oven
        toaster
        sink
        refrigerator, fridge, fridge, freezer
        book
        clock
        vase
        scissors
        teddy bear, teddybear
        hair drier, hairdryer
        toothbrush
        """
}
