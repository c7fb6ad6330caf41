import json, time
from tests.fhir.helpers import fhir_json, resources_of
from collections import Counter

def test_smoke(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    maria = cast.patients["maria"]
    r = park.get("/fhir/R4/metadata")
    fhir_json(r)
    t=time.time()
    r = park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything")
    print("took", time.time()-t)
    body = fhir_json(r)
    print(Counter(x["resourceType"] for x in resources_of(body)))
    print(json.dumps(resources_of(body)[:3], indent=1)[:3000])
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    r = chen.get(f"/fhir/R4/Patient/{maria.uuid}/$everything")
    print(r.status_code, r.content)
