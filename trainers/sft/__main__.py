import sys

from trainers.common.cli import main
from trainers.sft import SFTConfig, train
from trainers.sft.train import __doc__ as DOC

if __name__ == "__main__":
    main("python -m trainers.sft", SFTConfig, train, DOC, sys.argv[1:])
