"""moto's InvokeEndpoint handler, replaced by one that asks the local SageMaker."""

from __future__ import annotations

import atexit
import logging

from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from animl_emulator.local_sagemaker.service import LocalSageMaker
from animl_emulator.local_sagemaker.settings import LocalSageMakerSettings

FORWARDED_HEADERS = ("Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes")


def install(settings: LocalSageMakerSettings) -> LocalSageMaker:
    # The containers' starts, failures and stops go to the emulator's log.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    local = LocalSageMaker(settings)
    atexit.register(local.stop_all)

    def invoke_endpoint(self: SageMakerRuntimeResponse):
        body = self.body if isinstance(self.body, bytes) else str(self.body or "").encode()
        headers = {h: self.headers[h] for h in FORWARDED_HEADERS if self.headers.get(h)}
        status, answer_headers, answer = local.invoke(
            self.current_account, self.region, self.path.split("/")[2], body, headers
        )
        # moto takes a handler's status from its headers.
        return status, answer_headers | {"status": str(status)}, answer

    SageMakerRuntimeResponse.use_raw_body = True
    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint
    return local
